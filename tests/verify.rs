//! Live verification against a local Dynatrace environment (tests/verify/fake_dynatrace.rs,
//! on 127.0.0.1) that follows the documented access tokens API. Every outcome, error and
//! debug text is checked for the secret part; assertion messages name token ids only.

mod common;
#[path = "verify/fake_dynatrace.rs"]
mod fake_dynatrace;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_dynatrace::{Canned, FakeDynatrace, TokenRecord};
use tokenguard::matcher::fingerprint;
use tokenguard::verify::revoke::{self, Action};
use tokenguard::verify::{
    environments_in, Candidate, CheckSpec, Environment, Secret, Status, Verification,
    Verifications, Verifier, VerifyOptions,
};

fn env(url: &str) -> Environment {
    Environment::parse(url).unwrap()
}

fn candidate(token: &str, context: Vec<Environment>) -> Candidate {
    Candidate {
        token_id: token.rsplit_once('.').unwrap().0.to_string(),
        secret: Secret::new(token),
        fingerprint: fingerprint(token.as_bytes()),
        spec: Arc::new(CheckSpec::dynatrace_token_lookup()),
        context,
    }
}

fn verifier_for(envs: &[&FakeDynatrace]) -> Verifier {
    Verifier::new(VerifyOptions {
        environments: envs.iter().map(|s| env(&s.url())).collect(),
        ..VerifyOptions::default()
    })
}

fn id(token: &str) -> &str {
    token.rsplit_once('.').unwrap().0
}

/// Fails (naming the token id only) if any text about `results` holds a secret part.
fn assert_no_secret(texts: &[String], tokens: &[&str]) {
    for t in tokens {
        let secret = common::secret_of(t);
        for text in texts {
            assert!(!text.contains(secret), "a text about {} holds its secret part", id(t));
        }
    }
}

fn texts_of(results: &Verifications) -> Vec<String> {
    results
        .iter()
        .flat_map(|(_, v)| [format!("{v:?}"), serde_json::to_string(&v.verification).unwrap()])
        .collect()
}

fn verify_one(verifier: &Verifier, token: &str, context: Vec<Environment>) -> Verification {
    let results = verifier.verify_all(vec![candidate(token, context)]);
    assert_no_secret(&texts_of(&results), &[token]);
    results.get(&fingerprint(token.as_bytes())).unwrap().clone()
}

#[test]
fn active_token_reports_the_documented_metadata_and_risk() {
    let dt = FakeDynatrace::start("");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.ingest", "apiTokens.write", "LogExport"]));
    let v = verify_one(&verifier_for(&[&dt]), &token, vec![]);
    assert_eq!(v.status, Status::Active);
    assert_eq!(v.environment.as_ref().map(|e| e.to_string()), Some(dt.url()));
    let info = v.token.as_ref().unwrap();
    assert_eq!(info.id.as_deref(), Some(id(&token)));
    assert_eq!(info.name.as_deref(), Some("ci-deploy"));
    assert_eq!(info.owner.as_deref(), Some("owner@corp.example"));
    assert_eq!(info.scopes, ["metrics.ingest", "apiTokens.write", "LogExport"]);
    assert_eq!(info.expires, None);
    assert_eq!(info.last_used.as_deref(), Some("2024-06-01T10:00:00.000Z"));
    assert_eq!(info.personal, Some(false));
    assert_eq!(
        v.risk.as_deref(),
        Some("can change the environment (apiTokens.write); can read sensitive data (LogExport); never expires")
    );
    let json = serde_json::to_value(&v).unwrap();
    for key in [
        "status",
        "reason",
        "environment",
        "name",
        "owner",
        "scopes",
        "expires",
        "last_used",
        "personal",
    ] {
        assert!(json.get(key).is_some(), "`verification.{key}` missing");
    }
    assert_eq!(json["status"], "active");
    assert!(json["expires"].is_null());
}

#[test]
fn the_request_is_the_documented_lookup() {
    let dt = FakeDynatrace::start("/e/ENV-1");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    let v = verify_one(&verifier_for(&[&dt]), &token, vec![]);
    assert_eq!(v.status, Status::Active, "Managed-shaped URL with /e/ENV");
    let reqs = dt.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/e/ENV-1/api/v2/apiTokens/lookup");
    assert!(
        r.authorization == format!("Api-Token {token}"),
        "Authorization is `Api-Token <token>`"
    );
    assert!(r.content_type.starts_with("application/json"));
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(body == serde_json::json!({ "token": token }), "body is {{\"token\": <token>}}");
    assert!(!r.path.contains(common::secret_of(&token)), "never in a URL");
}

#[test]
fn a_token_expiring_is_not_flagged_as_never_expiring() {
    let dt = FakeDynatrace::start("");
    let token = common::token();
    let mut rec = TokenRecord::new(&["metrics.ingest"]);
    rec.expires = Some("2031-01-01T00:00:00.000Z".into());
    rec.personal = true;
    dt.add(&token, rec);
    let v = verify_one(&verifier_for(&[&dt]), &token, vec![]);
    assert_eq!(v.status, Status::Active);
    let info = v.token.unwrap();
    assert_eq!(info.expires.as_deref(), Some("2031-01-01T00:00:00.000Z"));
    assert_eq!(info.personal, Some(true));
    assert_eq!(v.risk, None);
}

#[test]
fn statuses_for_each_kind_of_answer() {
    let dt = FakeDynatrace::start("");
    let verifier = verifier_for(&[&dt]);
    let disabled = common::token();
    dt.add(&disabled, TokenRecord::new(&["metrics.read"]));
    dt.can(
        &disabled,
        Canned::Answer(
            200,
            format!(r#"{{"id":"{}","enabled":false,"scopes":["metrics.read"]}}"#, id(&disabled)),
        ),
    );
    let forbidden = common::token();
    dt.can(
        &forbidden,
        Canned::Answer(
            403,
            r#"{"error":{"code":403,"message":"Token is missing required scope."}}"#.into(),
        ),
    );
    let server_error = common::token();
    dt.can(
        &server_error,
        Canned::Answer(503, r#"{"error":{"code":503,"message":"Service unavailable"}}"#.into()),
    );
    let malformed = common::token();
    dt.can(&malformed, Canned::Answer(200, "{\"enabled\": tru".into()));
    let unknown = common::token();

    let v = verify_one(&verifier, &disabled, vec![]);
    assert_eq!(v.status, Status::Disabled);
    assert_eq!(v.risk, None, "risk is for active tokens");

    let v = verify_one(&verifier, &forbidden, vec![]);
    assert_eq!(v.status, Status::Active, "403: authenticated");
    assert!(v.token.is_none(), "scopes unknown");
    assert!(v.reason.unwrap().contains("403"));
    assert!(v.risk.unwrap().contains("unknown"));

    let v = verify_one(&verifier, &unknown, vec![]);
    assert_eq!(v.status, Status::Invalid);
    assert!(v.reason.unwrap().contains("401"));

    let v = verify_one(&verifier, &server_error, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert_eq!(v.reason.as_deref(), Some("server error (503): Service unavailable"));

    let v = verify_one(&verifier, &malformed, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("malformed"));
}

#[test]
fn wrong_base_url_gives_unknown_404() {
    let dt = FakeDynatrace::start("/e/RIGHT");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    let wrong = env(&format!("http://{}/e/WRONG", dt.addr));
    let verifier =
        Verifier::new(VerifyOptions { environments: vec![wrong], ..VerifyOptions::default() });
    let v = verify_one(&verifier, &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("404"));
}

#[test]
fn huge_answer_is_cut_off() {
    let dt = FakeDynatrace::start("");
    let token = common::token();
    dt.can(&token, Canned::Huge(20 * 1024 * 1024));
    let v = verify_one(&verifier_for(&[&dt]), &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("response larger than 65536 bytes"));
}

#[test]
fn slow_server_times_out() {
    let dt = FakeDynatrace::start("");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    dt.can(&token, Canned::Slow(Duration::from_secs(3)));
    let mut options =
        VerifyOptions { environments: vec![env(&dt.url())], ..VerifyOptions::default() };
    options.transport.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let v = verify_one(&Verifier::new(options), &token, vec![]);
    let took = started.elapsed();
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.as_deref().unwrap().starts_with("timeout after"), "{:?}", v.reason);
    assert!(took < Duration::from_secs(2), "gave up after {took:?}");
}

#[test]
fn unreachable_environment_is_unknown_and_the_batch_completes() {
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let verifier = Verifier::new(VerifyOptions {
        environments: vec![env(&format!("http://127.0.0.1:{port}"))],
        ..VerifyOptions::default()
    });
    let token = common::token();
    let v = verify_one(&verifier, &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("connection"));
}

#[test]
fn redirects_are_not_followed() {
    let dt = FakeDynatrace::start("");
    let elsewhere = FakeDynatrace::start("");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    elsewhere.add(&token, TokenRecord::new(&["metrics.read"]));
    dt.can(&token, Canned::Redirect(format!("{}/api/v2/apiTokens/lookup", elsewhere.url())));
    let v = verify_one(&verifier_for(&[&dt]), &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("redirect (302) not followed"));
    assert_eq!(elsewhere.connections(), 0, "the redirect target got a connection");
}

#[test]
fn a_planted_url_next_to_a_token_gets_nothing() {
    let attacker = FakeDynatrace::start("");
    let token = common::token();
    attacker.add(&token, TokenRecord::new(&["metrics.read"]));
    let file = format!(
        "DT_URL={}\nDT_URL2=https://attacker.example/e/abc\nDT_API_URL=http://localhost:{}/api\nDT_API_TOKEN={token}\n",
        attacker.url(),
        attacker.addr.port()
    );
    let context = environments_in(file.as_bytes());
    assert!(context.is_empty(), "no Dynatrace-run host in the file");
    // Even a caller that passes the planted URL as context cannot make it a target.
    let planted = vec![env(&attacker.url())];
    let verifier = Verifier::new(VerifyOptions::default());
    let v = verify_one(&verifier, &token, planted);
    assert_eq!(v.status, Status::Unknown);
    assert_eq!(v.reason.as_deref(), Some("no environment"));
    assert_eq!(attacker.connections(), 0, "the planted host got a connection");
}

#[test]
fn context_environments_are_dynatrace_hosts_mapped_from_apps() {
    let file = b"DT_TENANT_URL=https://abc12345.apps.dynatrace.com/ui/apps\n";
    let envs = environments_in(file);
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0].as_str(), "https://abc12345.live.dynatrace.com");
    assert!(envs[0].is_dynatrace_owned());
}

#[test]
fn no_environment_means_unknown_and_no_request() {
    let dt = FakeDynatrace::start("");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    let v = verify_one(&Verifier::new(VerifyOptions::default()), &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert_eq!(v.reason.as_deref(), Some("no environment"));
    assert_eq!(v.environment, None);
    assert_eq!(dt.connections(), 0);
}

#[test]
fn several_environments_first_definitive_answer() {
    let other = FakeDynatrace::start("");
    let home = FakeDynatrace::start("");
    let third = FakeDynatrace::start("");
    let token = common::token();
    home.add(&token, TokenRecord::new(&["metrics.read"]));
    let v = verify_one(&verifier_for(&[&other, &home, &third]), &token, vec![]);
    assert_eq!(v.status, Status::Active);
    assert_eq!(v.environment.map(|e| e.to_string()), Some(home.url()));
    assert_eq!(other.requests().len(), 1, "asked first: 401");
    assert_eq!(third.requests().len(), 0, "not asked after a definitive answer");

    let nowhere = common::token();
    let v = verify_one(&verifier_for(&[&other, &third]), &nowhere, vec![]);
    assert_eq!(v.status, Status::Invalid, "every environment rejected it");
}

#[test]
fn environments_tried_are_bounded() {
    let servers: Vec<FakeDynatrace> = (0..5).map(|_| FakeDynatrace::start("")).collect();
    let token = common::token();
    servers[4].add(&token, TokenRecord::new(&["metrics.read"]));
    let verifier = Verifier::new(VerifyOptions {
        environments: servers.iter().map(|s| env(&s.url())).collect(),
        max_environments: 2,
        ..VerifyOptions::default()
    });
    let v = verify_one(&verifier, &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("3 more environment(s) not tried"));
    let asked: usize = servers.iter().map(|s| s.connections()).sum();
    assert_eq!(asked, 2);
}

#[test]
fn many_copies_of_one_token_make_one_request() {
    let dt = FakeDynatrace::start("");
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    let copies: Vec<Candidate> = (0..50).map(|_| candidate(&token, vec![])).collect();
    let results = verifier_for(&[&dt]).verify_all(copies);
    assert_eq!(results.len(), 1);
    assert_eq!(dt.requests().len(), 1);
    assert_no_secret(&texts_of(&results), &[&token]);
}

#[test]
fn a_thousand_tokens_in_parallel() {
    let dt = FakeDynatrace::start("");
    dt.set_delay(Duration::from_millis(50));
    // Generated directly: common::token() builds a matcher per token, slow in debug builds.
    let mut rng = common::Rng::new();
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let tokens: Vec<String> = (0..1000)
        .map(|_| format!("dt0c01.{}.{}", rng.chars(upper, 24), rng.chars(upper, 64)))
        .collect();
    for t in tokens.iter().step_by(2) {
        dt.add(t, TokenRecord::new(&["metrics.read"]));
    }
    let verifier = Verifier::new(VerifyOptions {
        environments: vec![env(&dt.url())],
        concurrency: 16,
        ..VerifyOptions::default()
    });
    let started = Instant::now();
    let results = verifier.verify_all(tokens.iter().map(|t| candidate(t, vec![])).collect());
    let took = started.elapsed();
    eprintln!("1000 distinct tokens, 50 ms per answer, 16 in flight: {took:?} (serial: 50 s)");
    assert_eq!(results.len(), 1000);
    assert_eq!(dt.requests().len(), 1000);
    let active = results.iter().filter(|(_, v)| v.verification.status == Status::Active).count();
    assert_eq!(active, 500);
    assert!(took < Duration::from_secs(25), "took {took:?}: not concurrent");
}

#[test]
fn lazy_client_setup_errors_only_on_first_call() {
    let mut options = VerifyOptions {
        environments: vec![env("https://abc12345.live.dynatrace.com")],
        ..VerifyOptions::default()
    };
    options.transport.ca_file = Some("/nonexistent/corp-ca.pem".into());
    let verifier = Verifier::new(options);
    assert!(verifier.verify_all(vec![]).is_empty(), "nothing to do, nothing loaded");
    let token = common::token();
    let v = verify_one(&verifier, &token, vec![]);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.reason.unwrap().contains("cannot read CA file /nonexistent/corp-ca.pem"));
}

#[test]
fn disable_then_look_up_again() {
    let dt = FakeDynatrace::start("");
    let leaked = common::token();
    let admin = common::token();
    dt.add(&leaked, TokenRecord::new(&["settings.write"]));
    dt.add(&admin, TokenRecord::new(&["apiTokens.read", "apiTokens.write"]));
    let verifier = verifier_for(&[&dt]);
    let results = verifier.verify_all(vec![candidate(&leaked, vec![])]);

    let plan = revoke::plan(&results);
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].token_id, id(&leaked));
    let mut shown = Vec::new();
    assert!(
        revoke::confirm(&plan, Action::Disable, &mut "y\n".as_bytes(), &mut shown, false).unwrap()
    );
    let shown = String::from_utf8(shown).unwrap();
    assert!(shown.contains(id(&leaked)) && shown.contains("settings.write"));

    let outcomes =
        revoke::revoke(verifier.transport(), &plan, Action::Disable, &Secret::new(admin.as_str()));
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].result, Ok(Action::Disable));
    assert_eq!(dt.enabled(&leaked), Some(false), "disabled, not deleted");
    let put = dt.requests().into_iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.path, format!("/api/v2/apiTokens/{}", id(&leaked)));
    assert!(
        put.authorization == format!("Api-Token {admin}"),
        "authenticated as the administrator"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&put.body).unwrap(),
        serde_json::json!({"enabled": false})
    );

    // The token can no longer look itself up; the administrator sees it disabled.
    let again = verify_one(&verifier, &leaked, vec![]);
    assert_eq!(again.status, Status::Invalid);
    let seen = revoke::lookup_as(
        verifier.transport(),
        &plan[0].environment,
        &Secret::new(leaked.as_str()),
        &Secret::new(admin.as_str()),
    );
    assert_eq!(seen.status, Status::Disabled);

    let mut texts: Vec<String> = outcomes.iter().map(|o| format!("{o:?}")).collect();
    texts.push(shown);
    texts.push(format!("{seen:?}"));
    assert_no_secret(&texts, &[&leaked, &admin]);
}

#[test]
fn delete_only_when_asked_and_never_the_admin_token_itself() {
    let dt = FakeDynatrace::start("");
    let leaked = common::token();
    let admin = common::token();
    dt.add(&leaked, TokenRecord::new(&["metrics.read"]));
    dt.add(&admin, TokenRecord::new(&["apiTokens.write"]));
    let verifier = verifier_for(&[&dt]);
    let results = verifier.verify_all(vec![candidate(&leaked, vec![]), candidate(&admin, vec![])]);
    let plan = revoke::plan(&results);
    assert_eq!(plan.len(), 2);
    let outcomes =
        revoke::revoke(verifier.transport(), &plan, Action::Delete, &Secret::new(admin.as_str()));
    for o in &outcomes {
        if o.token_id == id(&admin) {
            assert!(o.result.as_ref().unwrap_err().contains("administrator token itself"));
        } else {
            assert_eq!(o.result, Ok(Action::Delete));
        }
    }
    assert_eq!(dt.enabled(&leaked), None, "deleted");
    assert_eq!(dt.enabled(&admin), Some(true));
    assert!(dt.requests().iter().all(|r| r.method != "DELETE" || !r.path.ends_with(id(&admin))));
}

#[test]
fn administrator_token_missing_or_lacking_scope() {
    let err = revoke::admin_token_from_env("TOKENGUARD_TEST_NO_SUCH_ADMIN_VAR").unwrap_err();
    assert!(err.to_string().contains("TOKENGUARD_TEST_NO_SUCH_ADMIN_VAR"));

    let dt = FakeDynatrace::start("");
    let leaked = common::token();
    let weak_admin = common::token();
    dt.add(&leaked, TokenRecord::new(&["metrics.read"]));
    dt.add(&weak_admin, TokenRecord::new(&["apiTokens.read"]));
    let verifier = verifier_for(&[&dt]);
    let plan = revoke::plan(&verifier.verify_all(vec![candidate(&leaked, vec![])]));
    let outcomes = revoke::revoke(
        verifier.transport(),
        &plan,
        Action::Disable,
        &Secret::new(weak_admin.as_str()),
    );
    let reason = outcomes[0].result.as_ref().unwrap_err();
    assert!(reason.contains("apiTokens.write"), "{reason}");
    assert_eq!(dt.enabled(&leaked), Some(true));

    let stranger = common::token();
    let outcomes = revoke::revoke(
        verifier.transport(),
        &plan,
        Action::Disable,
        &Secret::new(stranger.as_str()),
    );
    assert!(outcomes[0].result.as_ref().unwrap_err().contains("401"));
    assert_no_secret(
        &outcomes.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>(),
        &[&leaked, &weak_admin, &stranger],
    );
}

#[test]
fn only_active_tokens_are_planned() {
    let dt = FakeDynatrace::start("");
    let active = common::token();
    let gone = common::token();
    dt.add(&active, TokenRecord::new(&["metrics.read"]));
    let results =
        verifier_for(&[&dt]).verify_all(vec![candidate(&active, vec![]), candidate(&gone, vec![])]);
    let plan = revoke::plan(&results);
    assert_eq!(plan.iter().map(|i| i.token_id.as_str()).collect::<Vec<_>>(), [id(&active)]);
}

/// A server configuration with a fresh self-signed certificate for `names`, and its PEM.
fn tls_config(names: &[&str]) -> (Arc<rustls::ServerConfig>, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).unwrap();
    let chain = vec![rustls::pki_types::CertificateDer::from(ck.cert.der().to_vec())];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    (Arc::new(config), ck.cert.pem())
}

fn https_verifier(dt: &FakeDynatrace, ca_file: Option<std::path::PathBuf>) -> Verifier {
    let mut options =
        VerifyOptions { environments: vec![env(&dt.url())], ..VerifyOptions::default() };
    options.transport.ca_file = ca_file;
    Verifier::new(options)
}

#[test]
fn https_certificates_are_verified() {
    let (config, _) = tls_config(&["127.0.0.1"]);
    let dt = FakeDynatrace::start_tls("", config);
    assert!(dt.url().starts_with("https://127.0.0.1:"));
    let token = common::token();
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    let v = verify_one(&https_verifier(&dt, None), &token, vec![]);
    assert_eq!(v.status, Status::Unknown, "a self-signed certificate is not trusted");
    assert!(v.reason.as_deref().unwrap().starts_with("TLS error"), "{:?}", v.reason);
    assert!(dt.requests().is_empty(), "no request before the handshake succeeds");
}

#[test]
fn a_configured_ca_file_is_trusted_and_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (good, good_pem) = tls_config(&["127.0.0.1"]);
    let (wrong_name, wrong_pem) = tls_config(&["dynatrace.corp.example"]);
    let token = common::token();

    let dt = FakeDynatrace::start_tls("/e/ENV", good);
    dt.add(&token, TokenRecord::new(&["metrics.read"]));
    let ca = dir.path().join("corp-ca.pem");
    std::fs::write(&ca, good_pem).unwrap();
    let v = verify_one(&https_verifier(&dt, Some(ca)), &token, vec![]);
    assert_eq!(v.status, Status::Active, "{:?}", v.reason);

    let other = FakeDynatrace::start_tls("", wrong_name);
    other.add(&token, TokenRecord::new(&["metrics.read"]));
    let ca = dir.path().join("other-ca.pem");
    std::fs::write(&ca, wrong_pem).unwrap();
    let v = verify_one(&https_verifier(&other, Some(ca)), &token, vec![]);
    assert_eq!(v.status, Status::Unknown, "a certificate for another name");
    assert!(v.reason.as_deref().unwrap().starts_with("TLS error"), "{:?}", v.reason);
    assert!(other.requests().is_empty());

    let bad = dir.path().join("not-pem.pem");
    std::fs::write(&bad, "hello").unwrap();
    let v = verify_one(&https_verifier(&dt, Some(bad)), &token, vec![]);
    assert!(v.reason.as_deref().unwrap().contains("holds no certificate"), "{:?}", v.reason);
}

const PROXY_CHILD: &str = "TOKENGUARD_TEST_PROXY_CHILD_TOKEN";

#[test]
fn https_proxy_from_the_environment_is_used_and_sees_no_token() {
    // The child run (this same test, re-executed with HTTPS_PROXY set: the environment is
    // process-wide, so the parent's other tests must not see it).
    if let Ok(token) = std::env::var(PROXY_CHILD) {
        let mut options = VerifyOptions {
            // `.invalid` never resolves: only the proxy can reach it.
            environments: vec![env("https://dt.tokenguard-test.invalid/e/ENV")],
            ..VerifyOptions::default()
        };
        options.transport.timeout = Duration::from_secs(3);
        let v = verify_one(&Verifier::new(options), &token, vec![]);
        assert_eq!(v.status, Status::Unknown, "the proxy refused the tunnel");
        return;
    }
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = proxy.local_addr().unwrap();
    proxy.set_nonblocking(true).unwrap();
    let seen = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match proxy.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 8192 {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                    return String::from_utf8_lossy(&got).into_owned();
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(_) => return String::new(),
            }
        }
    });
    let token = common::token();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "https_proxy_from_the_environment_is_used_and_sees_no_token",
            "--test-threads=1",
        ])
        .env(PROXY_CHILD, &token)
        .env("HTTPS_PROXY", format!("http://{addr}"))
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let child_text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_no_secret(&[child_text], &[&token]);
    assert!(out.status.success(), "the child run failed");
    let seen = seen.join().unwrap();
    assert!(
        seen.starts_with("CONNECT dt.tokenguard-test.invalid:443 HTTP/1.1\r\n"),
        "the proxy got no CONNECT for the environment's host"
    );
    assert_no_secret(&[seen], &[&token]);
}

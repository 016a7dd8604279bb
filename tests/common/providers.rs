//! Synthetic tokens of other providers, made from random characters with their checksums
//! (and structures) right, so that they are tokens by every offline check. Formats:
//! docs/research/providers-verified.md.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use tokenguard::matcher::checksum;

use super::Rng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX_LOWER: &[u8] = b"0123456789abcdef";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("checks are ASCII")
}

/// A GitHub classic token (`prefix` one of `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) or an npm
/// token (`npm_`): 30 random alphanumerics and their base62 CRC-32.
fn github_classic_once(prefix: &str) -> String {
    let body = Rng::new().chars(ALNUM, 30);
    format!("{prefix}{body}{}", text(&checksum::github_check(body.as_bytes())))
}

/// A GitHub fine-grained personal access token (`github_pat_`, 93 characters).
fn github_fine_grained_once() -> String {
    let mut rng = Rng::new();
    let head = format!("github_pat_11{}_{}", rng.chars(ALNUM, 20), rng.chars(ALNUM, 43));
    let check = checksum::github_pat_check(head.as_bytes());
    format!("{head}{}{}", text(&check), rng.chars(ALNUM, 8))
}

/// A GitLab routable token with `prefix` (`glpat-`, `gldt-`, `SIE-glpat-`, …): 16 random
/// bytes and a routing payload, as GitLab's generator writes them.
pub fn gitlab_routable(prefix: &str) -> String {
    let mut rng = Rng::new();
    let routing = format!(
        "c:1\no:{}\nu:{}",
        rng.chars(b"0123456789abcdefghijklmnopqrstuvwxyz", 3),
        rng.chars(b"0123456789abcdefghijklmnopqrstuvwxyz", 5)
    );
    let mut payload: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
    payload.extend_from_slice(routing.as_bytes());
    payload.push(routing.len() as u8);
    let b64 = URL_SAFE_NO_PAD.encode(&payload);
    let len = checksum::gitlab_length_field(b64.len()).expect("a short payload");
    let head = format!("{prefix}{b64}.01.{}", text(&len));
    format!("{head}{}", text(&checksum::gitlab_crc(head.as_bytes())))
}

/// A Grafana service-account token (`glsa_`).
fn grafana_service_account_once() -> String {
    let key = format!("glsa_{}", Rng::new().chars(ALNUM, 32));
    format!("{key}_{}", text(&checksum::grafana_check(key.as_bytes())))
}

/// A Grafana Cloud access-policy token (`glc_` + base64 JSON with `o`, `n`, `k`, `m`).
fn grafana_cloud_once() -> String {
    let mut rng = Rng::new();
    let json = format!(
        r#"{{"o":"{}","n":"stack-{}-write","k":"{}","m":{{"r":"prod-eu-west-2"}}}}"#,
        rng.chars(b"0123456789", 7),
        rng.chars(b"0123456789", 6),
        rng.chars(ALNUM, 24)
    );
    format!("glc_{}", STANDARD.encode(json))
}

/// An Atlassian API token (`ATATT3xFfGF0…=` + CRC-32, 192 characters).
fn atlassian_api_token_once() -> String {
    let head = format!("ATATT3xFfGF0{}=", Rng::new().chars(B64URL, 171));
    format!("{head}{}", text(&checksum::atlassian_check(head.as_bytes())))
}

/// A Bitbucket app password (`ATBB` + 24 alphanumerics + CRC-32).
fn bitbucket_app_password_once() -> String {
    let head = format!("ATBB{}", Rng::new().chars(ALNUM, 24));
    format!("{head}{}", text(&checksum::atlassian_check(head.as_bytes())))
}

/// A PyPI token: `pypi-` and a v2 macaroon for pypi.org with a UUID identifier, a caveat
/// and a random signature, base64url without padding (as warehouse serializes it).
fn pypi_once() -> String {
    let mut rng = Rng::new();
    let uuid = format!(
        "{}-{}-4{}-a{}-{}",
        rng.chars(HEX_LOWER, 8),
        rng.chars(HEX_LOWER, 4),
        rng.chars(HEX_LOWER, 3),
        rng.chars(HEX_LOWER, 3),
        rng.chars(HEX_LOWER, 12)
    );
    let caveat = format!(r#"[1,["{uuid}"]]"#);
    let field = |kind: u8, data: &[u8]| {
        let mut f = vec![kind, data.len() as u8];
        f.extend_from_slice(data);
        f
    };
    let mut raw = vec![2u8];
    raw.extend(field(1, b"pypi.org"));
    raw.extend(field(2, uuid.as_bytes()));
    raw.push(0);
    raw.extend(field(2, caveat.as_bytes()));
    raw.push(0);
    raw.push(0);
    let sig: Vec<u8> = (0..32).map(|_| rng.next() as u8).collect();
    raw.extend(field(6, &sig));
    format!("pypi-{}", URL_SAFE_NO_PAD.encode(raw))
}

/// A Dynatrace agent connection token: `dt0a01.<environment id>.<64 lower-case hex>`.
fn dynatrace_agent_once() -> String {
    let mut rng = Rng::new();
    format!(
        "dt0a01.{}{}.{}",
        rng.chars(b"abcdefghijklmnopqrstuvwxyz", 3),
        rng.chars(b"0123456789", 5),
        rng.chars(HEX_LOWER, 64)
    )
}

/// A Dynatrace EdgeConnect placeholder token: `dt0e01.<24 base32>.<64 base32>`.
fn dynatrace_edgeconnect_once() -> String {
    let mut rng = Rng::new();
    format!("dt0e01.{}.{}", rng.chars(BASE32, 24), rng.chars(BASE32, 64))
}

/// [`github_classic_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn github_classic(prefix: &str) -> String {
    accepted(|| github_classic_once(prefix))
}

/// [`github_fine_grained_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn github_fine_grained() -> String {
    accepted(github_fine_grained_once)
}

/// [`grafana_service_account_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn grafana_service_account() -> String {
    accepted(grafana_service_account_once)
}

/// [`grafana_cloud_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn grafana_cloud() -> String {
    accepted(grafana_cloud_once)
}

/// [`atlassian_api_token_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn atlassian_api_token() -> String {
    accepted(atlassian_api_token_once)
}

/// [`bitbucket_app_password_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn bitbucket_app_password() -> String {
    accepted(bitbucket_app_password_once)
}

/// [`pypi_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn pypi() -> String {
    accepted(pypi_once)
}

/// [`dynatrace_agent_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn dynatrace_agent() -> String {
    accepted(dynatrace_agent_once)
}

/// [`dynatrace_edgeconnect_once`], drawn again until the built-in matcher finds it (a random draw is
/// placeholder-shaped now and then: a test must not fail by chance).
pub fn dynatrace_edgeconnect() -> String {
    accepted(dynatrace_edgeconnect_once)
}

/// `make()` drawn again until the built-in matcher finds a token in it.
fn accepted(make: impl Fn() -> String) -> String {
    let m = tokenguard::matcher::Matcher::builtin_ref();
    for _ in 0..1000 {
        let t = make();
        if !m.find(t.as_bytes()).is_empty() {
            return t;
        }
    }
    panic!("the built-in matcher finds none of 1,000 draws (no part of them shown)");
}

const DIGITS: &[u8] = b"0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `prefix` and `n` random characters of `alphabet`, drawn again until the built-in
/// matcher finds exactly one token in it (a random draw is placeholder-shaped very rarely).
fn drawn(make: impl Fn(&mut Rng) -> String) -> String {
    let m = tokenguard::matcher::Matcher::builtin();
    let mut rng = Rng::new();
    loop {
        let t = make(&mut rng);
        if m.find(t.as_bytes()).len() == 1 {
            return t;
        }
    }
}

/// An Atlassian API token of the older 24-character format, drawn again until the built-in
/// matcher finds it after a `JIRA_API_TOKEN=` key (a keyed value: found only beside its key).
pub fn atlassian_legacy() -> String {
    let m = tokenguard::matcher::Matcher::builtin();
    let mut rng = Rng::new();
    loop {
        let t = rng.chars(ALNUM, 24);
        if m.find(format!("JIRA_API_TOKEN={t}").as_bytes()).len() == 1 {
            return t;
        }
    }
}

/// A token of a provider without a checksum, by rule id: the token and the part that a
/// report may show. Panics on an unknown id.
pub fn other(rule: &str) -> (String, String) {
    let t = match rule {
        "slack-bot-token" => drawn(|r| {
            format!("xoxb-{}-{}-{}", r.chars(DIGITS, 12), r.chars(DIGITS, 13), r.chars(ALNUM, 24))
        }),
        "slack-user-token" => drawn(|r| {
            format!(
                "xoxp-{}-{}-{}-{}",
                r.chars(DIGITS, 12),
                r.chars(DIGITS, 12),
                r.chars(DIGITS, 12),
                r.chars(HEX_LOWER, 32)
            )
        }),
        "slack-webhook-url" => drawn(|r| {
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                r.chars(UPPER_DIGITS, 10),
                r.chars(UPPER_DIGITS, 10),
                r.chars(ALNUM, 24)
            )
        }),
        "stripe-secret-key" => drawn(|r| format!("sk_live_{}", r.chars(ALNUM, 99))),
        "stripe-test-key" => drawn(|r| format!("sk_test_{}", r.chars(ALNUM, 99))),
        "google-api-key" => drawn(|r| format!("AIza{}", r.chars(B64URL, 35))),
        "openai-api-key" => {
            drawn(|r| format!("sk-proj-{}T3BlbkFJ{}", r.chars(B64URL, 74), r.chars(B64URL, 74)))
        }
        "anthropic-api-key" => drawn(|r| format!("sk-ant-api03-{}AA", r.chars(B64URL, 93))),
        "sendgrid-api-key" => {
            drawn(|r| format!("SG.{}.{}", r.chars(B64URL, 22), r.chars(B64URL, 43)))
        }
        "shopify-token" => drawn(|r| format!("shpat_{}", r.chars(HEX_LOWER, 32))),
        "docker-hub-token" => drawn(|r| format!("dckr_pat_{}", r.chars(B64URL, 27))),
        "vault-token" => drawn(|r| format!("hvs.{}", r.chars(B64URL, 91))),
        "terraform-cloud-token" => {
            drawn(|r| format!("{}.atlasv1.{}", r.chars(ALNUM, 14), r.chars(ALNUM, 67)))
        }
        "gitlab-token" => drawn(|r| format!("glpat-{}", r.chars(ALNUM, 20))),
        "aws-secret-access-key" => {
            drawn(|r| format!("aws_secret_access_key = {}", r.chars(B64, 40)))
        }
        "azure-storage-account-key" => drawn(|r| format!("AccountKey={}==", r.chars(B64, 86))),
        "azure-entra-client-secret" => drawn(|r| {
            let tail = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-";
            format!("{}{}Q~{}", r.chars(ALNUM, 3), r.chars(b"78", 1), r.chars(tail, 34))
        }),
        "slack-config-token" => drawn(|r| format!("xoxe.xoxp-1-{}", r.chars(ALNUM, 162))),
        "slack-legacy-token" => drawn(|r| format!("xoxa-2-{}", r.chars(ALNUM, 34))),
        "gitlab-runner-registration-token" => {
            drawn(|r| format!("GR1348941{}", r.chars(B64URL, 20)))
        }
        "gitlab-ci-job-token" => {
            drawn(|r| format!("glcbt-{}_{}", r.chars(ALNUM, 3), r.chars(B64URL, 20)))
        }
        "gitlab-session-cookie" => drawn(|r| format!("_gitlab_session={}", r.chars(HEX_LOWER, 32))),
        "grafana-api-key" => drawn(|r| {
            let json = format!(
                r#"{{"k":"{}","n":"deploy","id":{}}}"#,
                r.chars(ALNUM, 32),
                1 + r.next() % 90
            );
            STANDARD.encode(json)
        }),
        "aws-bedrock-api-key" => drawn(|r| format!("ABSKQmVkcm9ja0FQSUtleS{}", r.chars(B64, 120))),
        _ => panic!("no generator for {rule}"),
    };
    let shown = match rule {
        "slack-webhook-url" => "https://hooks.slack.com/services/".into(),
        "slack-bot-token" | "slack-user-token" => t[..t.rfind(['-', '/']).unwrap() + 1].to_string(),
        "terraform-cloud-token" | "azure-entra-client-secret" | "grafana-api-key" => String::new(),
        "slack-config-token" => "xoxe.xoxp-1-".into(),
        "slack-legacy-token" => "xoxa-2-".into(),
        "gitlab-runner-registration-token" => "GR1348941".into(),
        "gitlab-ci-job-token" => t[..10].to_string(),
        "gitlab-session-cookie" => "_gitlab_session=".into(),
        "aws-bedrock-api-key" => "ABSK".into(),
        "google-api-key" => "AIza".into(),
        "aws-secret-access-key" => String::new(),
        "azure-storage-account-key" => "AccountKey".into(),
        _ => {
            let cut = ["sk_live_", "sk_test_", "sk-proj-", "sk-ant-api03-", "dckr_pat_", "shpat_"]
                .iter()
                .find(|p| t.starts_with(*p))
                .map(|p| p.len())
                .unwrap_or_else(|| t.find(['.', '-', '_']).map_or(4, |i| i + 1));
            t[..cut].to_string()
        }
    };
    (t, shown)
}

/// An AWS access key id and its secret (`AKIA` + 16 base32, 40 base64 characters).
pub fn aws_key_pair() -> (String, String) {
    let mut rng = Rng::new();
    loop {
        let (id, secret) = (format!("AKIA{}", rng.chars(BASE32, 16)), rng.chars(B64, 40));
        let line = format!("{id},{secret}");
        if tokenguard::matcher::Matcher::builtin().find(line.as_bytes()).len() == 1 {
            return (id, secret);
        }
    }
}

/// A PEM block of `label` (`RSA PRIVATE KEY`, `PUBLIC KEY`, ...) with a random body of
/// `lines` lines.
pub fn pem(label: &str, lines: usize) -> String {
    let mut rng = Rng::new();
    let body: Vec<String> = (0..lines).map(|_| rng.chars(B64, 64)).collect();
    format!(
        "-----BEGIN {label}-----\n{}\n{}==\n-----END {label}-----\n",
        body.join("\n"),
        rng.chars(B64, 22)
    )
}

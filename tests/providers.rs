//! Other providers' tokens through the real binary: each rule finds its tokens and shows only
//! the identifier part in every report format; placeholders, documentation examples, failing
//! checksums, hashes and masked values are not findings; decoders work for the new rules;
//! `[scan] disable` takes provider names. Tokens are generated at run time
//! (tests/common/providers.rs).

mod common;

use common::providers as p;
use serde_json::Value;

/// Scans `content` (written to `name` in a fresh folder) with `format`; returns the exit
/// code, stdout and stderr.
fn scan_text(name: &str, content: &str, format: &str) -> (Option<i32>, String, String) {
    scan_bytes(name, content.as_bytes(), format)
}

/// [`scan_text`] for content that is not UTF-8 (UTF-16 files).
fn scan_bytes(name: &str, content: &[u8], format: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let out = common::tokenguard()
        .current_dir(dir.path())
        .args(["scan", "--format", format, name])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The findings of a JSON report.
fn findings(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).expect("a JSON report");
    v["findings"].as_array().cloned().unwrap_or_default()
}

/// `s` in standard base64.
fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A Dynatrace token, an AWS secret key, an older-format token and an `.env` file holding the
/// last: what the tests of whole-text readings (UTF-16, quoted-printable) write.
fn secrets_for_whole_text_readings() -> (String, String, String, String) {
    let t = common::token();
    let (_, aws) = p::aws_key_pair();
    let legacy = common::legacy_token();
    let env = format!("APP=1\nLOG_LEVEL=info\nDT_API_TOKEN={legacy}\nPORT=8080\n");
    (t, aws, legacy, env)
}

/// The rule and line of each finding of a JSON report.
fn rules_and_lines(json: &str) -> Vec<(String, u64)> {
    findings(json)
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect()
}

/// Rule ids of the findings in `content`.
fn rules_found(content: &str) -> Vec<String> {
    let (_, out, _) = scan_text("f.txt", content, "json");
    findings(&out).iter().map(|f| f["rule"].as_str().unwrap_or("").to_string()).collect()
}

/// Every rule's token (the whole text holding it), the rule, what may be shown, and the
/// secret part that must never be shown.
fn cases() -> Vec<(String, &'static str, String, String)> {
    let mut v = Vec::new();
    let prefixed = |t: &str, n: usize| (t[..n].to_string(), t[n..].to_string());
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        let t = p::github_classic(prefix);
        let (shown, secret) = prefixed(&t, 4);
        v.push((format!("GITHUB_TOKEN={t}\n"), "github-token", shown, secret));
    }
    let t = p::github_classic("npm_");
    let (shown, secret) = prefixed(&t, 4);
    v.push((format!("//registry.npmjs.org/:_authToken={t}\n"), "npm-access-token", shown, secret));
    let t = p::github_fine_grained();
    let (shown, secret) = prefixed(&t, 11);
    v.push((format!("GH_TOKEN={t}\n"), "github-fine-grained-token", shown, secret));
    // A self-managed instance's prefix stands before the type's (with a separator or
    // without), and the CRC covers it: it is shown with the type's prefix.
    for prefix in ["glpat-", "glrt-", "SIE-glpat-", "acmeglpat-", "my_corp-gldt-"] {
        let t = p::gitlab_routable(prefix);
        let (shown, secret) = prefixed(&t, prefix.len());
        v.push((format!("token: {t}\n"), "gitlab-routable-token", shown, secret));
    }
    let t = p::grafana_service_account();
    let (shown, secret) = prefixed(&t, 5);
    v.push((format!("GRAFANA_TOKEN={t}\n"), "grafana-service-account-token", shown, secret));
    let t = p::atlassian_api_token();
    let (shown, secret) = prefixed(&t, 6);
    v.push((format!("JIRA_TOKEN={t}\n"), "atlassian-api-token", shown, secret));
    let t = p::bitbucket_app_password();
    let (shown, secret) = prefixed(&t, 4);
    v.push((format!("BB={t}\n"), "bitbucket-app-password", shown, secret));
    let t = p::pypi();
    let (shown, secret) = prefixed(&t, 5);
    v.push((format!("[pypi]\npassword = {t}\n"), "pypi-token", shown, secret));
    let t = p::dynatrace_agent();
    let dot = t.rfind('.').unwrap();
    v.push((
        format!("DT_CONNECTION_AUTH_TOKEN={t}\n"),
        "dynatrace-agent-token",
        t[..dot].to_string(),
        t[dot + 1..].to_string(),
    ));
    let t = p::dynatrace_edgeconnect();
    let dot = t.rfind('.').unwrap();
    v.push((
        format!("secret: {t}\n"),
        "dynatrace-edgeconnect-token",
        t[..dot].to_string(),
        t[dot + 1..].to_string(),
    ));
    for rule in [
        "slack-bot-token",
        "slack-user-token",
        "slack-webhook-url",
        "stripe-secret-key",
        "stripe-test-key",
        "google-api-key",
        "openai-api-key",
        "anthropic-api-key",
        "sendgrid-api-key",
        "shopify-token",
        "docker-hub-token",
        "vault-token",
        "terraform-cloud-token",
        "gitlab-token",
        "aws-secret-access-key",
        "azure-storage-account-key",
        "azure-entra-client-secret",
        "slack-config-token",
        "slack-legacy-token",
        "gitlab-runner-registration-token",
        "gitlab-ci-job-token",
        "gitlab-session-cookie",
        "grafana-api-key",
        "aws-bedrock-api-key",
    ] {
        let (t, shown) = p::other(rule);
        let secret = match rule {
            "aws-secret-access-key" => t.rsplit(' ').next().unwrap().to_string(),
            "azure-storage-account-key" => t["AccountKey=".len()..].to_string(),
            _ => t[shown.len()..].to_string(),
        };
        v.push((format!("value: {t}\n"), rule, shown, secret));
    }
    let t = p::atlassian_legacy();
    v.push((format!("JIRA_API_TOKEN={t}\n"), "atlassian-legacy-api-token", String::new(), t));
    let (id, secret) = p::aws_key_pair();
    v.push((
        format!("Access key ID,Secret access key\n{id},{secret}\n"),
        "aws-access-key",
        id,
        secret,
    ));
    let key = p::pem("RSA PRIVATE KEY", 20);
    let body = key.lines().nth(3).unwrap().to_string();
    v.push((key, "private-key", "RSA PRIVATE KEY".into(), body));
    let key = p::pem("OPENSSH PRIVATE KEY", 6);
    let body = key.lines().nth(2).unwrap().to_string();
    v.push((key, "private-key", "OPENSSH PRIVATE KEY".into(), body));
    v
}

#[test]
fn every_rule_finds_its_token_and_shows_only_the_identifier_in_every_format() {
    for (content, rule, shown, secret) in cases() {
        let (code, out, err) = scan_text("config.txt", &content, "json");
        assert_eq!(code, Some(1), "{rule}: exit code");
        let found = findings(&out);
        assert_eq!(found.len(), 1, "{rule}: {} findings, not 1", found.len());
        assert_eq!(found[0]["rule"], rule, "{rule}: found by {}", found[0]["rule"]);
        let id = found[0]["token_id"].as_str().unwrap_or("");
        assert_eq!(id, shown, "{rule}: token_id");
        assert!(!out.contains(&secret) && !err.contains(&secret), "{rule}: secret in JSON");
        for format in ["human", "sarif"] {
            let (code, out, err) = scan_text("config.txt", &content, format);
            assert_eq!(code, Some(1), "{rule}: exit code ({format})");
            assert!(!out.contains(&secret) && !err.contains(&secret), "{rule}: secret ({format})");
        }
    }
}

#[test]
fn severity_is_low_for_test_keys_and_placeholders_tokens() {
    let (t, _) = p::other("stripe-test-key");
    let (_, out, _) = scan_text("a.env", &format!("STRIPE={t}\n"), "json");
    assert_eq!(findings(&out)[0]["severity"], "low");
    let t = p::dynatrace_edgeconnect();
    let (_, out, _) = scan_text("a.env", &format!("S={t}\n"), "json");
    assert_eq!(findings(&out)[0]["severity"], "low");
    let (t, _) = p::other("stripe-secret-key");
    let (_, out, _) = scan_text("a.env", &format!("STRIPE={t}\n"), "json");
    assert_eq!(findings(&out)[0]["severity"], "high");
}

/// Replaces a character in the middle of `t` (inside what every checksum covers) by another
/// of the same kind.
fn edit_middle(t: &str) -> String {
    let at = t.len() / 2;
    let (head, rest) = t.split_at(at);
    let (c, tail) = (rest.as_bytes()[0], &rest[1..]);
    let other = match c {
        b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => c + 1,
        b'9' => b'0',
        b'z' => b'a',
        _ => b'A',
    };
    format!("{head}{}{tail}", other as char)
}

#[test]
fn tokens_whose_checksum_fails_are_not_findings() {
    let tokens = [
        p::github_classic("ghp_"),
        p::github_classic("npm_"),
        p::github_fine_grained(),
        p::gitlab_routable("glpat-"),
        p::grafana_service_account(),
        p::atlassian_api_token(),
        p::bitbucket_app_password(),
    ];
    for t in &tokens {
        assert_eq!(rules_found(&format!("TOKEN={t}\n")).len(), 1, "the valid token is found");
        let bad = edit_middle(t);
        let found = rules_found(&format!("TOKEN={bad}\n"));
        assert!(found.is_empty(), "an edited {} token: {found:?}", &t[..4]);
    }
    // A PyPI token for TestPyPI's location, or whose macaroon does not parse.
    let t = p::pypi();
    let cut = &t[..t.len() - 10];
    assert!(rules_found(&format!("password = {cut}\n")).is_empty());
}

#[test]
fn a_gitlab_instance_prefix_is_read_as_part_of_the_token_its_crc_covers() {
    let shown = |content: &str| -> Vec<String> {
        let (_, out, _) = scan_text("f.env", content, "json");
        findings(&out).iter().map(|f| f["token_id"].as_str().unwrap_or("").to_string()).collect()
    };
    let t = p::gitlab_routable("SIE-glpat-");
    assert_eq!(shown(&format!("GITLAB_TOKEN={t}\n")), ["SIE-glpat-"]);
    // Another instance's prefix written before it: its CRC covers SIE-, not XYZ-.
    let other = t.replacen("SIE-", "XYZ-", 1);
    assert!(shown(&format!("GITLAB_TOKEN={other}\n")).is_empty(), "{other}");
    // A token without an instance prefix, glued to a word: its CRC holds from `glpat-`.
    let plain = p::gitlab_routable("glpat-");
    assert_eq!(shown(&format!("GITLAB_TOKEN=SIE-{plain}\n")), ["glpat-"]);
}

#[test]
fn placeholders_examples_masks_templates_and_hashes_are_not_findings() {
    let same = |prefix: &str, c: char, n: usize| format!("{prefix}{}", c.to_string().repeat(n));
    let seq: String = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".into();
    let lines = [
        // all-same and sequential bodies
        same("ghp_", 'x', 36),
        same("ghp_", 'A', 36),
        same("npm_", '0', 36),
        same("sk_live_", 'x', 24),
        same("AIza", 'X', 35),
        same("dckr_pat_", 'a', 27),
        same("hvs.", 'x', 95),
        same("shpat_", '0', 32),
        format!("sk_live_{}", &seq[..40]),
        format!("AIza{}", &seq[..35]),
        format!("xoxb-123456789012-1234567890123-{}", &seq[..24]),
        format!("sk-ant-api03-{}AA", &seq.repeat(2)[..93]),
        // fixture words in a body
        "sk_live_FAKEKEYFAKEKEYFAKEKEY12345678".into(),
        "AIzaSyTESTKEYtestkeyTESTKEYtestkeyTESTK".into(),
        "dckr_pat_EXAMPLEexampleEXAMPLEexampl".into(),
        "SG.DUMMYdummyDUMMYdummyDU.PLACEHOLDERplaceholderPLACEHOLDERplacehold".into(),
        "xoxb-123456789012-1234567890123-MOCKmockMOCKmockMOCKmock".into(),
        "hvs.INVALIDinvalidINVALIDinvalidINVALIDinvalidINVALIDinvalidINVALIDinvalidINVALIDinvalidINVALIDinv".into(),
        // documentation examples
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into(),
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        "AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        "AKIAI44QH8DHBEXAMPLE je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY".into(),
        // masked values and template variables
        "GITHUB_TOKEN=ghp_****".into(),
        "GITHUB_TOKEN=ghp_************************************".into(),
        "token: ${GITHUB_TOKEN}".into(),
        "token: ${{ secrets.NPM_TOKEN }}".into(),
        "api_key: <your-token>".into(),
        "STRIPE_KEY=sk_live_<your-key>".into(),
        "SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".into(),
        "aws_secret_access_key = {{ aws_secret }}".into(),
        "AccountKey=${STORAGE_KEY}".into(),
        // publishable keys
        format!("STRIPE_PK=pk_live_{}", p::other("stripe-secret-key").0.trim_start_matches("sk_live_")),
        // wrong lengths
        format!("{}X", p::github_classic("ghp_")),
        p::github_classic("ghp_")[..39].to_string(),
        format!("AIza{}", &p::other("google-api-key").0[4..38]),
        format!("glpat-{}", &seq[10..29]),
        // git hashes, UUIDs, go.sum, base64 of an image, minified code
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8".into(),
        "id: 123e4567-e89b-12d3-a456-426614174000".into(),
        "github.com/stretchr/testify v1.8.4 h1:CcVxjf3Q8PM0mHUKJCdn+eZZtm5yQwehR5yeSVQQcUk=".into(),
        "aws_secret_access_key = 9fceb02d0ae598e95dc970b74767f19372d61af8".into(),
        "AKIAQWERTYUIOPASDFGH 9fceb02d0ae598e95dc970b74767f19372d61af8".into(),
        "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\">".into(),
        "var a=function(b){return b.sk_live_handler&&b.ghp_cache||AIza};".into(),
        // public keys and certificates
        p::pem("PUBLIC KEY", 6),
        p::pem("CERTIFICATE", 6),
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".into(),
        "-----BEGIN OPENSSH PRIVATE KEY-----\n<your key here>\n-----END OPENSSH PRIVATE KEY-----".into(),
    ];
    for line in &lines {
        let found = rules_found(&format!("{line}\n"));
        assert!(
            found.is_empty(),
            "a false alarm by {found:?} (line {})",
            &line[..line.len().min(12)]
        );
    }
}

#[test]
fn decoders_serve_the_new_rules() {
    // base64, as a Kubernetes Secret holds a value
    let t = p::github_classic("ghp_");
    let secret = format!(
        "apiVersion: v1\nkind: Secret\ndata:\n  token: {}\n  npm: {}\n",
        b64(&t),
        b64(&format!("//registry.npmjs.org/:_authToken={}", p::github_classic("npm_")))
    );
    let (code, out, _) = scan_text("secret.yaml", &secret, "json");
    assert_eq!(code, Some(1));
    let found: Vec<Value> = findings(&out);
    let rules: Vec<&str> = found.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["github-token", "npm-access-token"]);
    assert!(found.iter().all(|f| f["encoding"] == "base64"));
    assert!(!out.contains(&t[4..]));
    // URL-encoded and HTML-entity separators (structured rules: the Dynatrace agent token)
    let t = p::dynatrace_agent();
    for enc in ["%2E", "%252E", "&#46;"] {
        let (code, out, _) = scan_text("a.txt", &format!("x={}\n", t.replace('.', enc)), "json");
        assert_eq!(code, Some(1), "{enc}");
        assert_eq!(findings(&out)[0]["rule"], "dynatrace-agent-token");
        assert!(!out.contains(&t[t.rfind('.').unwrap() + 1..]));
    }
    // JSON-escaped slashes and a URL-encoded URL (a regex rule: the Slack webhook)
    let (t, _) = p::other("slack-webhook-url");
    let secret = t.rsplit('/').next().unwrap().to_string();
    for written in [t.replace('/', "\\/"), t.replace(':', "%3A").replace('/', "%2F")] {
        let (code, out, _) = scan_text("a.json", &format!("{{\"hook\": \"{written}\"}}\n"), "json");
        assert_eq!(code, Some(1));
        assert_eq!(findings(&out)[0]["rule"], "slack-webhook-url");
        assert!(!out.contains(&secret));
    }
    // a key file in UTF-16 (Windows tools), for a regex rule
    let (t, _) = p::other("stripe-secret-key");
    let (_, json, _) = scan_bytes("k.txt", &utf16(&format!("STRIPE={t}\r\n"), true), "json");
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(findings(&json)[0]["rule"], "stripe-secret-key");
}

/// The file's bytes in UTF-16, little-endian with a byte-order mark or big-endian without.
fn utf16(text: &str, little: bool) -> Vec<u8> {
    let units = text.encode_utf16();
    if little {
        [0xFF, 0xFE].into_iter().chain(units.flat_map(u16::to_le_bytes)).collect()
    } else {
        units.flat_map(u16::to_be_bytes).collect()
    }
}

/// Rules that read a window of lines find their token in UTF-16 text too (Windows
/// PowerShell writes UTF-16 by default): a private key block, an AWS key pair on two lines.
#[test]
fn window_rules_read_their_lines_in_utf16_text() {
    let key = p::pem("RSA PRIVATE KEY", 20);
    let body = key.lines().nth(3).unwrap().to_string();
    let (id, secret) = p::aws_key_pair();
    let pair = format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    for (text, rule, hidden) in [
        (format!("Key file:\n{key}\nend\n"), "private-key", &body),
        (format!("Key file:\r\n{}\r\nend\r\n", key.replace('\n', "\r\n")), "private-key", &body),
        (pair.clone(), "aws-access-key", &secret),
        (pair.replace('\n', "\r\n"), "aws-access-key", &secret),
    ] {
        for little in [true, false] {
            let (code, json, _) = scan_bytes("k.txt", &utf16(&text, little), "json");
            let rules: Vec<String> =
                findings(&json).iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect();
            assert!(rules.iter().any(|r| r == rule), "{rule} little-endian {little}: {rules:?}");
            assert_eq!(code, Some(1), "{rule} little-endian {little}");
            assert!(!json.contains(hidden.as_str()), "{rule}: the secret part is never shown");
        }
    }
}

/// A UTF-16 file (either order, with a byte order mark or without) is read as text too:
/// base64 inside it (a Kubernetes Secret, an `.env` file in base64) and a value below its key
/// (an HCL variable's default) are found, at their lines, as in UTF-8.
#[test]
fn base64_and_values_below_their_key_inside_utf16_text_are_found() {
    let (t, aws, legacy, env) = secrets_for_whole_text_readings();
    let cases = [
        (format!("kind: Secret\ndata:\n  token: {}\n", b64(&t)), "dynatrace-api-token", 3),
        (
            format!("variable \"aws_secret_access_key\" {{\n  default = \"{aws}\"\n}}\n"),
            "aws-secret-access-key",
            2,
        ),
        (format!("kind: Secret\ndata:\n  .env: {}\n", b64(&env)), "dynatrace-legacy-token", 3),
    ];
    for (text, rule, line) in cases {
        for (little, mark) in [(true, true), (false, true), (true, false), (false, false)] {
            let mut bytes: Vec<u8> = match (mark, little) {
                (false, _) => vec![],
                (true, true) => vec![0xFF, 0xFE],
                (true, false) => vec![0xFE, 0xFF],
            };
            for u in text.replace('\n', "\r\n").encode_utf16() {
                bytes.extend(if little { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            let (code, json, _) = scan_bytes("k.ps1", &bytes, "json");
            let found = rules_and_lines(&json);
            assert_eq!(
                found,
                [(rule.to_string(), line)],
                "{rule}, little-endian {little}, mark {mark}"
            );
            assert_eq!(code, Some(1));
            for hidden in [common::secret_of(&t), aws.as_str(), legacy.as_str()] {
                assert!(!json.contains(hidden), "{rule}: a secret part is shown");
            }
        }
    }
}

/// A quoted-printable text (a mail body: soft breaks at 76 characters, `=` as `=3D`) is read
/// decoded as a whole, with or without the header that says so: base64 cut by a soft break,
/// an assignment with a type between key and `=3D`, and a value below its key are found at
/// their lines; a placeholder so written is not.
#[test]
fn base64_typed_assignments_and_values_below_their_key_inside_quoted_printable_text_are_found() {
    let (t, aws, legacy, env) = secrets_for_whole_text_readings();
    // (text, rule, line in the body, whether it has soft breaks)
    let cases = [
        (format!("kind: Secret\ndata:\n  token: {}\n", b64(&t)), "dynatrace-api-token", 3, true),
        (
            format!("package c\n\nvar ApiToken string = \"{}\"\n", b64(&t)),
            "dynatrace-api-token",
            3,
            true,
        ),
        (
            format!("kind: Secret\ndata:\n  .env: {}\n", b64(&env)),
            "dynatrace-legacy-token",
            3,
            true,
        ),
        (
            format!("variable \"aws_secret_access_key\" {{\n  default = \"{aws}\"\n}}\n"),
            "aws-secret-access-key",
            2,
            false,
        ),
    ];
    let header = "From: ci@example.com\nSubject: build\nMIME-Version: 1.0\n\
                  Content-Type: text/plain; charset=utf-8\n\
                  Content-Transfer-Encoding: quoted-printable\n\n";
    for (text, rule, line, soft) in cases {
        for eol in ["\n", "\r\n"] {
            let body = common::quoted_printable(&text, eol);
            assert_eq!(body.contains(&format!("={eol}")), soft, "{body}");
            let headers: &[&str] = if soft { &["", header] } else { &[header] };
            for head in headers {
                let mail = format!("{}{body}", head.replace('\n', eol));
                let (code, json, _) = scan_text("m.eml", &mail, "json");
                let found = rules_and_lines(&json);
                let line = line + head.lines().count() as u64;
                assert_eq!(
                    found,
                    [(rule.to_string(), line)],
                    "{rule}, header {}",
                    !head.is_empty()
                );
                assert_eq!(code, Some(1));
                for hidden in [common::secret_of(&t), aws.as_str(), legacy.as_str()] {
                    assert!(!json.contains(hidden), "{rule}: a secret part is shown");
                }
            }
        }
    }
    // A placeholder and a documentation example so written are not tokens.
    let placeholder = format!("dt0c01.{}.{}", "X".repeat(24), "X".repeat(64));
    for text in [
        format!("kind: Secret\ndata:\n  token: {}\n", b64(&placeholder)),
        "variable \"aws_secret_access_key\" {\n  default = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n}\n"
            .to_string(),
    ] {
        let mail = format!("{header}{}", common::quoted_printable(&text, "\n"));
        let (code, json, _) = scan_text("m.eml", &mail, "json");
        assert_eq!((code, findings(&json).len()), (Some(0), 0), "{mail}");
    }
}

/// A token that a quoted-printable encoder cut with a soft break is judged whole: a made-up
/// one whose fixture word stands after the break is not reported for the head before it
/// (as written, and in base64), and a real one is found once. Base64's own padding at the
/// end of a line as long as an encoder's, another key below it, is no soft break.
#[test]
fn tokens_cut_by_a_soft_break_are_judged_whole() {
    let (real, _) = p::other("stripe-secret-key");
    // The fixture word far enough in that the encoder's first line ends before it.
    let fake = format!("{}FAKE{}", &real[..70], &real[74..]);
    for header in ["Content-Transfer-Encoding: quoted-printable\n\n", ""] {
        for (value, found) in [(fake.clone(), 0), (real.clone(), 1)] {
            for text in [
                format!("const config = {{\n  STRIPE_SECRET_KEY: `{value}`,\n}};\n"),
                format!("kind: Secret\ndata:\n  STRIPE_KEY: {}\n", b64(&value)),
            ] {
                let body = common::quoted_printable(&text, "\n");
                assert!(body.contains("=\n"), "{body}");
                let (code, json, _) = scan_text("m.eml", &format!("{header}{body}"), "json");
                assert_eq!(findings(&json).len(), found, "{body}{json}");
                assert_eq!(code, Some(found as i32));
                assert!(!json.contains(&real[8..40]), "a secret part is shown");
            }
        }
    }
    // A YAML block of base64 whose last line (padded) is 69 characters long, a key below.
    let t = common::token();
    let encoded = (0..200)
        .map(|n| b64(&format!("{}{t}\n", "x".repeat(n))))
        .find(|e| e.len() % 64 == 60 && e.ends_with('='))
        .expect("a prefix length");
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let text = format!("token: |\n    {}\napiToken: other\n", lines.join("\n    "));
    assert!(text.contains("=\napiToken"), "{text}");
    assert_eq!(rules_found(&text), ["dynatrace-api-token"], "{text}");
}

/// A file in base64 wrapped at 76 columns whose token runs over a line end is judged whole:
/// a made-up token whose fixture word stands on the next line is not reported for its head
/// on the first; a real one is found once.
#[test]
fn tokens_over_the_lines_of_wrapped_base64_are_judged_whole() {
    let (real, _) = p::other("stripe-secret-key");
    let n = real.len();
    let fake = format!("{}TEST{}", &real[..n - 6], &real[n - 2..]);
    // The name before the token as long as it takes for a line end of the base64 to fall at
    // each place of the token.
    for pad in 0..60 {
        for (value, found) in [(fake.as_str(), 0), (real.as_str(), 1)] {
            let file = format!(
                "<resources>\n    <string name=\"a{}\">{value}</string>\n</resources>\n",
                "p".repeat(pad)
            );
            let encoded = b64(&file);
            let wrapped: Vec<&str> =
                encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
            let text = wrapped.join("\n") + "\n";
            let (code, json, _) = scan_text("strings.xml.b64", &text, "json");
            assert_eq!(findings(&json).len(), found, "pad {pad}: {json}");
            assert_eq!(code, Some(found as i32));
            assert!(!json.contains(&real[8..40]), "a secret part is shown");
        }
    }
}

/// A key's value in escaped quotes after a type or a default between key and value, inside
/// JSON inside JSON (`?? \\\"…\\\"`, `: &str = \\\"…\\\"`), is read as in plain quotes.
#[test]
fn values_in_escaped_quotes_after_a_type_or_a_default_are_found() {
    let legacy = common::legacy_token();
    for line in [
        format!("const token = process.env.DT_API_TOKEN ?? \"{legacy}\";"),
        format!("pub const DT_API_TOKEN: &str = \"{legacy}\";"),
        format!("var DtApiToken string = \"{legacy}\""),
    ] {
        let once = serde_json::json!({ "content": line }).to_string();
        let twice = serde_json::json!({ "payload": once }).to_string();
        for doc in [once, twice] {
            let (code, json, _) = scan_text("doc.json", &format!("{doc}\n"), "json");
            let rules: Vec<String> =
                findings(&json).iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect();
            assert_eq!(rules, ["dynatrace-legacy-token"], "{doc}");
            assert_eq!(code, Some(1));
            assert!(!json.contains(&legacy), "a secret is shown");
        }
    }
}

/// A file written on one line inside a JSON string (`\n` for its line ends, once or twice
/// escaped) or in a URL's parameter (`%0A`) is read as that file: a value below its key is
/// found.
#[test]
fn values_below_their_key_inside_json_strings_and_url_parameters_are_found() {
    let (_, aws) = p::aws_key_pair();
    let legacy = common::legacy_token();
    for (key, value, rule) in [
        ("AWS_SECRET_ACCESS_KEY", &aws, "aws-secret-access-key"),
        ("DT_API_TOKEN", &legacy, "dynatrace-legacy-token"),
    ] {
        let files = [
            format!("variables:\n  {key}:\n    value: \"{value}\"\n"),
            format!("variable \"{}\" {{\n  default = \"{value}\"\n}}\n", key.to_lowercase()),
        ];
        for file in files {
            let once = serde_json::json!({ "content": file }).to_string();
            let twice = serde_json::json!({ "payload": once }).to_string();
            let url = format!("https://example.com/upload?body={}", common::url_encode(&file));
            for doc in [once, twice, url] {
                let (code, json, _) = scan_text("doc.json", &format!("{doc}\n"), "json");
                let rules: Vec<String> = findings(&json)
                    .iter()
                    .map(|f| f["rule"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(rules, [rule], "{doc}");
                assert_eq!(code, Some(1));
                assert!(!json.contains(value.as_str()), "a secret is shown");
            }
        }
    }
}

/// A key's value in quotes escaped for a string inside a string (JSON in JSON, a log line)
/// or as an HTML entity is read as in plain quotes, for the regex rules that name the key.
#[test]
fn escaped_and_entity_quotes_around_a_key_and_its_value_are_read() {
    let (_, secret) = p::aws_key_pair();
    let twilio = twilio_secret();
    let cases = [
        (
            format!("{{\"config\": \"{{\\\"SecretAccessKey\\\": \\\"{secret}\\\"}}\"}}\n"),
            "aws-secret-access-key",
            &secret,
        ),
        (
            format!("{{\"env\": \"secret_key = \\\"{secret}\\\"\"}}\n"),
            "aws-secret-access-key",
            &secret,
        ),
        (
            format!("<pre>aws_secret_access_key = &quot;{secret}&quot;</pre>\n"),
            "aws-secret-access-key",
            &secret,
        ),
        (
            format!("<pre>&#34;SecretAccessKey&#34;: &#34;{secret}&#34;</pre>\n"),
            "aws-secret-access-key",
            &secret,
        ),
        (
            format!("{{\"log\": \"{{\\\"TWILIO_API_SECRET\\\": \\\"{twilio}\\\"}}\"}}\n"),
            "twilio-api-secret",
            &twilio,
        ),
    ];
    for (text, rule, hidden) in &cases {
        let (code, out, _) = scan_text("a.json", text, "json");
        assert_eq!(code, Some(1), "{rule}");
        let found = findings(&out);
        let rules: Vec<&str> = found.iter().map(|f| f["rule"].as_str().unwrap()).collect();
        assert!(rules.contains(rule), "{rule}: {rules:?}");
        assert!(!out.contains(hidden.as_str()), "{rule}: the secret part is never shown");
    }
    // Placeholders stay placeholders however they are quoted.
    for text in [
        "{\"config\": \"{\\\"SecretAccessKey\\\": \\\"${AWS_SECRET_ACCESS_KEY}\\\"}\"}\n",
        "<pre>aws_secret_access_key = &quot;wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY&quot;</pre>\n",
    ] {
        assert_eq!(scan_text("a.json", text, "json").0, Some(0), "{text}");
    }
}

/// The AWS secret after its key in tables and statements: CSV, TSV, semicolons, Markdown,
/// SQL, an XML element, a Dockerfile's `ENV` with a blank, a name and a `value` on one line
/// (and Twilio's API secret in a CSV or Markdown table, an XML attribute pair); placeholders,
/// hashes and repeated characters stay clean there too.
#[test]
fn key_named_secrets_in_tables_and_statements_are_found() {
    let (_, secret) = p::aws_key_pair();
    let twilio = twilio_secret();
    let cases = [
        (
            "aws-secret-access-key",
            &secret,
            &[
                "name,value\n\"AWS_SECRET_ACCESS_KEY\",\"{S}\"\n",
                "aws_secret_access_key\t{S}\n",
                "AWS_SECRET_ACCESS_KEY;{S};prod\n",
                "| `AWS_SECRET_ACCESS_KEY` | `{S}` |\n",
                "| aws_secret_access_key | {S} |\n",
                "VALUES ('aws_secret_access_key', '{S}');\n",
                "<SecretAccessKey>{S}</SecretAccessKey>\n",
                "ENV AWS_SECRET_ACCESS_KEY {S}\n",
                // A name and its value on one line: an XML attribute pair, a JSON object.
                "<add key=\"AWS_SECRET_ACCESS_KEY\" value=\"{S}\" />\n",
                "{\"name\": \"AWS_SECRET_ACCESS_KEY\", \"value\": \"{S}\"}\n",
            ][..],
        ),
        (
            "twilio-api-secret",
            &twilio,
            &[
                "\"TWILIO_API_SECRET\",\"{S}\"\n",
                "| TWILIO_API_SECRET | {S} |\n",
                "<add key=\"TWILIO_API_SECRET\" value=\"{S}\" />\n",
            ][..],
        ),
    ];
    for (rule, value, layouts) in cases {
        for layout in layouts {
            let (code, out, _) = scan_text("t.txt", &layout.replace("{S}", value), "json");
            assert_eq!(code, Some(1), "{layout}");
            assert!(findings(&out).iter().any(|f| f["rule"] == rule), "{layout}");
            assert!(!out.contains(value.as_str()), "{layout}: the secret part is never shown");
        }
    }
    for text in [
        "| secret_key | c264dfa35ad2e2eb46797659ec6a84c14eecb2ee |\n",
        "SECRET_KEY,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "aws_secret_access_key\tYourSecretAccessKeyGoesHereXXXXXXXXXXXXX\n",
        "ENV AWS_SECRET_ACCESS_KEY wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        "<add key=\"AWS_SECRET_ACCESS_KEY\" value=\"${AWS_SECRET_ACCESS_KEY_FROM_THE_VAULT}\" />\n",
    ] {
        assert_eq!(scan_text("t.txt", text, "json").0, Some(0), "{text}");
    }
}

/// A key's name with its value on another line (a Kubernetes `env:` list, pretty-printed
/// JSON, the value first), the name as a command-line flag or a Hadoop property, and values in JSON
/// whose slashes are escaped (PHP writes `\/`) or in JSON inside JSON (a service-account key
/// or a webhook in a JSON string), or escaped for HTML once or twice: the regex rules read
/// them as keyed rules do. A placeholder
/// in the same places, a name whose own value is elsewhere (`valueFrom`) and the value of the
/// next name stay clean.
#[test]
fn values_on_the_next_line_and_in_escaped_json_or_html_are_read() {
    let mut rng = common::Rng::new();
    let (_, secret) = p::aws_key_pair();
    // A slash in each secret, for the escaped forms.
    let secret = format!("{}/{}", &secret[..20], &secret[21..]);
    let twilio = twilio_secret();
    let (azure, _) = p::other("azure-storage-account-key");
    let azure = format!("{}/{}", &azure[..40], &azure[41..]);
    let (webhook, _) = p::other("slack-webhook-url");
    let webhook_secret = webhook.rsplit('/').next().unwrap().to_string();
    let pem = p::pem("PRIVATE KEY", 5);
    let pem_body = pem.lines().nth(2).unwrap().to_string();
    let key_id = rng.chars(b"0123456789abcdef", 40);
    let account = format!(
        "{{\"type\": \"service_account\", \"private_key_id\": \"{key_id}\", \"private_key\": {}, \
         \"client_email\": \"a@p.iam.gserviceaccount.com\"}}",
        serde_json::to_string(&pem).unwrap()
    );
    let hook = format!("{{\"hook\": \"{}\"}}", webhook.replace('/', "\\/"));
    let nested =
        |inner: &str| format!("{{\"config\": {}}}\n", serde_json::to_string(inner).unwrap());
    let escaped = secret.replace('/', "\\/");
    let cases: Vec<(String, &str, &str)> = vec![
        (format!("env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: \"{secret}\"\n"), "aws-secret-access-key", &secret),
        (format!("env:\n- name: TWILIO_API_SECRET\n  # rotated monthly\n  value: {twilio}\n"), "twilio-api-secret", &twilio),
        (format!("[\n  {{\n    \"name\": \"AWS_SECRET_ACCESS_KEY\",\n    \"value\": \"{secret}\"\n  }}\n]\n"), "aws-secret-access-key", &secret),
        (format!("- value: {secret}\n  name: AWS_SECRET_ACCESS_KEY\n"), "aws-secret-access-key", &secret),
        (format!("mytool --secret_key {secret}\n"), "aws-secret-access-key", &secret),
        (format!("spark.hadoop.fs.s3a.secret.key={secret}\n"), "aws-secret-access-key", &secret),
        (format!("{{\"AWS_SECRET_ACCESS_KEY\":\"{escaped}\"}}\n"), "aws-secret-access-key", &secret),
        (format!("{{\"conn\":\"DefaultEndpointsProtocol=https;{};EndpointSuffix=core.windows.net\"}}\n", azure.replace('/', "\\/")), "azure-storage-account-key", &azure[11..]),
        (nested(&account), "google-service-account-key", &pem_body),
        (nested(&hook), "slack-webhook-url", &webhook_secret),
        (format!("<pre>{}</pre>\n", html(&account)), "google-service-account-key", &pem_body),
        (format!("<pre>secret_key = &amp;quot;{secret}&amp;quot;</pre>\n"), "aws-secret-access-key", &secret),
        (
            format!("<pre>&quot;{{\\&quot;SecretAccessKey\\&quot;: \\&quot;{secret}\\&quot;}}&quot;</pre>\n"),
            "aws-secret-access-key",
            &secret,
        ),
    ];
    // (Failures name the case, not its text: a service-account key's text holds a whole
    // private key.)
    for (i, (text, rule, hidden)) in cases.iter().enumerate() {
        let (code, out, _) = scan_text("t.txt", text, "json");
        let at = text.find(hidden).or_else(|| text.find(&hidden.replace('/', "\\/")));
        assert!(at.is_some(), "case {i}: the test writes the secret");
        assert_eq!(code, Some(1), "case {i} ({rule})");
        assert!(findings(&out).iter().any(|f| f["rule"] == *rule), "case {i} ({rule})");
        assert!(!out.contains(hidden), "case {i}: the secret part is never shown");
        assert!(!out.contains(&hidden.replace('/', "\\/")), "case {i}: nor its escaped form");
    }
    for text in [
        "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: \"${AWS_SECRET_ACCESS_KEY}\"\n".to_string(),
        "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
            .to_string(),
        format!(
            "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    valueFrom:\n      secretKeyRef: {{name: aws}}\n  - name: OTHER\n    value: \"{secret}\"\n"
        ),
        format!("env:\n  - name: AWS_SECRET_ACCESS_KEY\n  - name: OTHER\n    value: \"{secret}\"\n"),
        "{\"AWS_SECRET_ACCESS_KEY\":\"wJalrXUtnFEMI\\/K7MDENG\\/bPxRfiCYEXAMPLEKEY\"}\n".to_string(),
    ] {
        let (code, out, _) = scan_text("t.txt", &text, "json");
        assert_eq!(code, Some(0), "{}", text.replace(&secret, "{S}"));
        assert!(!out.contains(&secret));
    }
}

/// A value that comes after its key's line or inside an element's CDATA section: YAML block,
/// folded and plain scalars on the next line, a TOML multi-line string, a shell
/// here-document, `<KEY><![CDATA[…]]>`; for a regex rule (the AWS secret, Twilio's API
/// secret, also after `os.environ["…"] =`) and a keyed one (the older Dynatrace format).
/// Placeholders there, a YAML value that is the next key (not indented deeper) and a nested
/// mapping stay clean.
#[test]
fn values_after_the_keys_line_or_in_cdata_are_read() {
    let (_, secret) = p::aws_key_pair();
    let twilio = twilio_secret();
    let legacy = common::legacy_token();
    let layouts = [
        "config:\n  {K}: |\n    {S}\n",
        "config:\n  {K}: >-\n    {S}\n",
        "{K}:\n  {S}\n",
        "{K}: |  # from the vault\n\n  {S}\n",
        "{K} = \"\"\"\n{S}\"\"\"\n",
        "read -r -d '' {K} <<'EOF'\n{S}\nEOF\n",
        "cat <<EOF > .env\n{K} <<-END\n\t{S}\nEND\n",
        "<{K}><![CDATA[{S}]]></{K}>\n",
        // An HCL variable's default, GitLab CI's `value:`, a property list's next `<string>`.
        "variable \"{K}\" {\n  description = \"x\"\n  type = string\n  default = \"{S}\"\n}\n",
        "variables:\n  {K}:\n    value: \"{S}\"\n    description: x\n",
        "<dict>\n\t<key>{K}</key>\n\t<string>{S}</string>\n</dict>\n",
    ];
    finds_keyed_secrets_in(&layouts, &secret, &twilio, &legacy);
    let text = format!("os.environ[\"TWILIO_API_SECRET\"] = \"{twilio}\"\n");
    assert!(findings(&scan_text("t.py", &text, "json").1)
        .iter()
        .any(|f| f["rule"] == "twilio-api-secret"));
    for text in [
        "config:\n  AWS_SECRET_ACCESS_KEY: |\n    ${AWS_SECRET_ACCESS_KEY}\n".to_string(),
        format!("AWS_SECRET_ACCESS_KEY:\nOTHER: {secret}\n"),
        format!("AWS_SECRET_ACCESS_KEY:\n  nested: {secret}\n"),
        format!("DT_API_TOKEN:\n- {legacy}\n"),
        "<DT_API_TOKEN><![CDATA[${DT_API_TOKEN}]]></DT_API_TOKEN>\n".to_string(),
        "variable \"dt_api_token\" {\n  default = var.token\n}\n".to_string(),
        format!("variable \"dt_api_token\" {{\n}}\ndefault = \"{legacy}\"\n"),
        "<key>DT_API_TOKEN</key>\n<string>${DT_API_TOKEN}</string>\n".to_string(),
        "variables:\n  AWS_SECRET_ACCESS_KEY:\n    value: $VAULT_AWS_SECRET\n".to_string(),
    ] {
        let (code, out, _) = scan_text("t.txt", &text, "json");
        let shown = text.replace(&secret, "{S}").replace(&legacy, "{L}");
        assert_eq!(code, Some(0), "{shown}");
        assert!(!out.contains(&secret) && !out.contains(&legacy));
    }
}

/// Each of the keyed and regex rules that name their secret's key (AWS, Twilio, the older
/// Dynatrace format) finds its value in every one of `layouts` (`{K}` the key, `{S}` the
/// value), through the binary, and never shows it.
fn finds_keyed_secrets_in(layouts: &[&str], aws: &str, twilio: &str, legacy: &str) {
    let cases = [
        ("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", aws),
        ("twilio-api-secret", "TWILIO_API_SECRET", twilio),
        ("dynatrace-legacy-token", "DT_API_TOKEN", legacy),
    ];
    for (rule, key, value) in cases {
        for layout in layouts {
            let text = layout.replace("{K}", key).replace("{S}", value);
            let (code, out, _) = scan_text("t.txt", &text, "json");
            assert_eq!(code, Some(1), "{rule}: {layout}");
            assert!(findings(&out).iter().any(|f| f["rule"] == rule), "{rule}: {layout}");
            assert!(!out.contains(value), "{layout}: the secret part is never shown");
        }
    }
}

/// A type, a default, Make's `?=`, a command's `--value`/`--body` after `--name KEY`, or an
/// escaped quote between key and value (Gradle's buildConfigField) is read as a separator.
#[test]
fn values_after_a_type_a_default_or_a_flag_are_read() {
    let (_, secret) = p::aws_key_pair();
    let layouts = [
        "{K}: str = \"{S}\"\n",
        "const {K}: &'static str = \"{S}\";\n",
        "var {K} string = \"{S}\"\n",
        "const x = process.env.{K} ?? \"{S}\";\n",
        "const x = process.env.{K} || '{S}';\n",
        "x = os.environ.get(\"{K}\") or \"{S}\"\n",
        "{K} ?= {S}\n",
        "export X=\"${{K}:-{S}}\"\n",
        "aws ssm put-parameter --name {K} --value {S} --type SecureString\n",
        "gh secret set {K} --body \"{S}\"\n",
        "buildConfigField(\"String\", \"{K}\", \"\\\"{S}\\\"\")\n",
    ];
    finds_keyed_secrets_in(&layouts, &secret, &twilio_secret(), &common::legacy_token());
    for text in [
        "aws_secret_access_key: str = Field(default=None)\n",
        "const x = process.env.DT_API_TOKEN ?? '';\n",
        "gh secret set DT_API_TOKEN --body \"$DT_API_TOKEN\"\n",
        "aws ssm put-parameter --name AWS_SECRET_ACCESS_KEY --value file://secret.txt\n",
    ] {
        let (code, out, _) = scan_text("t.txt", text, "json");
        assert_eq!((code, findings(&out).len()), (Some(0), 0), "{text}");
    }
}

/// A private key in a Jupyter notebook, where each of its lines is a JSON string of its own
/// (`"…\n",` then the next line): found in a code cell's source and in an output's text,
/// pretty-printed as Jupyter writes it (LF and CRLF) and minified, and its body never shown.
#[test]
fn a_private_key_in_a_notebook_is_found() {
    let key = p::pem("RSA PRIVATE KEY", 8);
    let body = key.lines().nth(2).unwrap().to_string();
    // Each line as a JSON string with its `\n` escape.
    let quoted: Vec<String> = key.lines().map(|l| format!("\"{l}\\n\"")).collect();
    let pretty = |indent: &str, eol: &str| quoted.join(&format!(",{eol}{indent}"));
    let cases = [
        format!(
            "{{\n \"cells\": [\n  {{\n   \"source\": [\n    \"KEY = \\\"\\\"\\\"\\n\",\n    {},\n    \"\\\"\\\"\\\"\"\n   ]\n  }}\n ]\n}}\n",
            pretty("    ", "\n")
        ),
        format!(
            "{{\r\n \"outputs\": [{{\r\n  \"text\": [\r\n   {}\r\n  ]\r\n }}]\r\n}}\r\n",
            pretty("   ", "\r\n")
        ),
        format!("{{\"cells\": [{{\"source\": [{}]}}]}}\n", quoted.join(", ")),
    ];
    for (n, text) in cases.iter().enumerate() {
        let (code, out, _) = scan_text("analysis.ipynb", text, "json");
        assert_eq!(code, Some(1), "case {n}");
        let rules: Vec<String> =
            findings(&out).iter().map(|f| f["rule"].as_str().unwrap_or("").to_string()).collect();
        assert_eq!(rules, ["private-key"], "case {n}");
        assert!(!out.contains(&body), "case {n}: the key's body is shown");
        let (_, human, _) = scan_text("analysis.ipynb", text, "human");
        assert!(!human.contains(&body), "case {n}: the key's body is shown");
    }
}

/// `text` escaped for HTML (`&`, `<`, `>`, both quotes), as a template engine writes it.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// A random 32-character Twilio API key secret.
fn twilio_secret() -> String {
    let mut rng = common::Rng::new();
    loop {
        let s = rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);
        // Random, drawn again where it happens to look made up (a fixture word: 1 in 8,000).
        if !tokenguard::matcher::is_placeholder_part(s.as_bytes()) {
            return s;
        }
    }
}

/// `text` as quoted-printable: bytes past ASCII and `=` escaped, lines wrapped at 76 columns
/// with soft breaks (never inside an escape).
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut col = 0;
        for b in line.bytes() {
            let piece =
                if b >= 0x80 || b == b'=' { format!("={b:02X}") } else { (b as char).to_string() };
            if col + piece.len() > 75 {
                out.push_str("=\n");
                col = 0;
            }
            col += piece.len();
            out.push_str(&piece);
        }
        out.push('\n');
    }
    out
}

/// A key pair on one line of a mail body, cut by a quoted-printable soft break, is found by
/// the rules that read a window of lines (the soft break was looked for only at the end of
/// the window).
#[test]
fn pairs_cut_by_a_soft_break_are_found() {
    let mut rng = common::Rng::new();
    let sid = format!("SK{}", rng.chars(b"0123456789abcdef", 32));
    let secret = twilio_secret();
    let (id, aws_secret) = p::aws_key_pair();
    for (line, rule, hidden) in [
        (format!("twilio: {{ api_key: {sid}, api_secret: {secret} }}"), "twilio-api-key", &secret),
        (
            format!("Zugang {id} \u{2013} geheimer Schl\u{fc}ssel: {aws_secret}"),
            "aws-access-key",
            &aws_secret,
        ),
    ] {
        let body = quoted_printable(&format!("Hallo,\n{line}\nGruss\n"));
        assert!(body.contains("=\n"), "{rule}: the line is cut");
        let (code, out, _) = scan_text("mail.eml", &body, "json");
        assert_eq!(code, Some(1), "{rule}");
        let found = findings(&out);
        assert!(found.iter().any(|f| f["rule"] == rule), "{rule}");
        assert!(!out.contains(hidden.as_str()), "{rule}: the secret part is never shown");
    }
}

#[test]
fn disable_takes_provider_names_and_rule_ids() {
    let dir = tempfile::tempdir().unwrap();
    let gh = p::github_classic("ghp_");
    let (aws_id, aws_secret) = p::aws_key_pair();
    let (slack, _) = p::other("slack-bot-token");
    let content = format!("A={gh}\nB={aws_id},{aws_secret}\nC={slack}\n");
    std::fs::write(dir.path().join("x.env"), &content).unwrap();
    let run = |disable: &str| -> Vec<String> {
        std::fs::write(
            dir.path().join(".tokenguard.toml"),
            format!("[scan]\ndisable = [{disable}]\n"),
        )
        .unwrap();
        let out = common::tokenguard()
            .current_dir(dir.path())
            .args(["scan", "--format", "json", "x.env"])
            .output()
            .unwrap();
        let json = String::from_utf8_lossy(&out.stdout).into_owned();
        findings(&json).iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(run(""), ["github-token", "aws-access-key", "slack-bot-token"]);
    assert_eq!(run("\"github\""), ["aws-access-key", "slack-bot-token"]);
    assert_eq!(run("\"github\", \"slack-bot-token\""), ["aws-access-key"]);
    assert_eq!(run("\"aws\", \"slack\", \"github\""), Vec::<String>::new());
}

#[test]
fn rules_lists_every_provider_and_checks_every_builtin_rule() {
    let out = common::tokenguard().arg("rules").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for provider in [
        "anthropic",
        "atlassian",
        "aws",
        "azure",
        "docker",
        "dynatrace",
        "github",
        "gitlab",
        "google",
        "grafana",
        "hashicorp",
        "npm",
        "openai",
        "private-key",
        "pypi",
        "sendgrid",
        "shopify",
        "slack",
        "stripe",
        "twilio",
    ] {
        assert!(
            text.contains(&format!("\n{provider} (")) || text.starts_with(&format!("{provider} (")),
            "{provider}"
        );
    }
    let out = common::tokenguard().args(["rules", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Short base64 values that stand alone on their line (a Kubernetes Secret holding a file of a
/// line or two, shorter than the runs that the pass over line ends decodes) are decoded and
/// searched: keyed values inside them are found, at the value's line, and never shown.
#[test]
fn keyed_tokens_in_short_base64_values_are_found() {
    let atlassian = p::atlassian_legacy();
    let legacy = common::legacy_token();
    let secret = |data: &[(&str, String)]| {
        let mut y = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n");
        for (k, v) in data {
            y.push_str(&format!("  {k}: {}\n", b64(v)));
        }
        y
    };
    let files = [
        (
            ("prod.tfvars", format!("jira_api_token = \"{atlassian}\"\n")),
            "atlassian-legacy-api-token",
        ),
        (("example.txt", format!("JIRA_API_TOKEN={atlassian}\n")), "atlassian-legacy-api-token"),
        (("DT_API_TOKEN", format!("${{DT_API_TOKEN:-{legacy}}}")), "dynatrace-legacy-token"),
        (
            ("OTEL_EXPORTER_OTLP_HEADERS", format!("Authorization=Api-Token%20{legacy}")),
            "dynatrace-legacy-token",
        ),
    ];
    for ((key, value), rule) in &files {
        let b = b64(value);
        assert!((24..64).contains(&b.trim_end_matches('=').len()), "{key}: {} characters", b.len());
        let (code, out, err) = scan_text("secret.yaml", &secret(&[(key, value.clone())]), "json");
        assert_eq!(code, Some(1), "{key}");
        assert_eq!(rules_and_lines(&out), [(rule.to_string(), 6)], "{key}");
        for s in [&atlassian, &legacy] {
            assert!(!out.contains(s.as_str()) && !err.contains(s.as_str()), "{key}: secret shown");
        }
    }
    // Short values that decode to text without a token, and a placeholder.
    let clean = secret(&[
        ("app.conf", "log_level = debug\nport = 8080\n".to_string()),
        ("tfvars", "jira_api_token = \"<your-token-here>\"\n".to_string()),
    ]);
    let (code, out, _) = scan_text("secret.yaml", &clean, "json");
    assert_eq!((code, findings(&out).len()), (Some(0), 0));
}

/// An Entra ID client secret encoded alone in base64 (a Kubernetes Secret's data): its marker
/// starts a group of three bytes there (`N1F+`, `OFF+`), the one form looked for.
#[test]
fn entra_secrets_encoded_alone_in_base64_are_found() {
    let (t, _) = p::other("azure-entra-client-secret");
    let (code, out, err) =
        scan_text("secret.yaml", &format!("data:\n  client-secret: {}\n", b64(&t)), "json");
    assert_eq!(code, Some(1));
    assert_eq!(rules_and_lines(&out), [("azure-entra-client-secret".to_string(), 2)]);
    assert_eq!(findings(&out)[0]["encoding"], "base64");
    assert!(!out.contains(&t[6..]) && !err.contains(&t[6..]));
}

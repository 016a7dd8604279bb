//! Precision in realistic contexts beyond the shared corpus: every place a Dynatrace token
//! turns up in real repositories (positives) and every look-alike that must stay quiet
//! (negatives). Tokens are generated at run time; each positive checks where the match
//! stands and that masking removes the secret, in every encoding it was written in.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{legacy_token, secret_of, token, token_with};
use tokenguard::matcher::{Encoding, Matcher};

fn matcher() -> Matcher {
    Matcher::builtin()
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

/// Asserts that `text` holds exactly one finding, of `rule`, whose span is exactly `token`
/// (a plain token), and that masking leaves its identifier and drops its secret.
#[track_caller]
fn finds_plain(text: &str, token: &str, rule: &str) {
    let m = matcher();
    let found = m.find(text.as_bytes());
    assert_eq!(found.len(), 1, "expected one finding in {text:?}, got {found:?}");
    let f = &found[0];
    assert_eq!(m.rules()[f.rule].id, rule, "{text:?}");
    assert_eq!(&text[f.span.clone()], token, "{text:?}");
    assert_eq!(f.encoding, Encoding::Plain);
    assert_eq!(f.fingerprint, sha256(token));
    let masked =
        String::from_utf8(tokenguard::mask::mask(text.as_bytes(), std::slice::from_ref(&f.secret)))
            .unwrap();
    let secret = if rule == "dynatrace-legacy-token" { token } else { secret_of(token) };
    assert!(!masked.contains(secret), "{masked}");
    if let Some(id) = &f.token_id {
        assert!(token.starts_with(id.as_str()) && masked.contains(id.as_str()), "{masked}");
    }
    assert!(!f.masked.contains(secret));
}

/// Asserts at least one finding whose fingerprint is that of `token` (e.g. inside base64),
/// and that masking every finding removes the secret in every form it was written in.
#[track_caller]
fn finds_encoded(text: &str, token: &str) {
    let m = matcher();
    let found = m.find(text.as_bytes());
    assert!(
        found.iter().any(|f| f.fingerprint == sha256(token)),
        "token not found in {text:?}: {found:?}"
    );
    let ranges: Vec<_> = found.iter().map(|f| f.secret.clone()).collect();
    let masked = tokenguard::mask::mask(text.as_bytes(), &ranges);
    assert_no_secret(&masked, secret_of(token));
}

/// No trace of `secret` in `bytes`: not plain, and not in base64 at any nesting depth.
#[track_caller]
fn assert_no_secret(bytes: &[u8], secret: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(secret), "secret left in {text}");
    // Decode every base64-looking run (up to three layers) and look again.
    let mut layer: Vec<u8> = bytes.to_vec();
    for _ in 0..3 {
        let mut next = Vec::new();
        for run in layer.split(|b| !(b.is_ascii_alphanumeric() || b"+/=-_".contains(b))) {
            for skip in 0..4.min(run.len()) {
                let r = &run[skip..];
                let r = &r[..r.len() / 4 * 4];
                if let Ok(d) = STANDARD.decode(r) {
                    assert!(
                        !String::from_utf8_lossy(&d).contains(&secret[..16]),
                        "secret left in base64 of {text}"
                    );
                    next.extend(d);
                    next.push(b'\n');
                }
            }
        }
        layer = next;
    }
}

#[track_caller]
fn finds_nothing(text: &str) {
    let found = matcher().find(text.as_bytes());
    assert!(found.is_empty(), "false positive in {text:?}: {found:?}");
}

fn sha256(s: &str) -> String {
    tokenguard::matcher::fingerprint(s.as_bytes())
}

const API: &str = "dynatrace-api-token";
const LEGACY: &str = "dynatrace-legacy-token";

// ---------------------------------------------------------------------------------------
// Structured tokens in context

#[test]
fn structured_token_in_config_and_code_contexts() {
    let templates = [
        // env files and shells
        "DT_API_TOKEN={T}\n",
        "DT_API_TOKEN={T}\r\n",
        "export DT_API_TOKEN=\"{T}\"\n",
        "export DT_API_TOKEN='{T}'; ./deploy.sh\n",
        "set DT_API_TOKEN={T}\r\n",
        "token=`echo {T}`\n",
        "echo `{T}`\n",
        "curl -H \"Authorization: Api-Token {T}\" https://abc12345.live.dynatrace.com/api/v2/metrics\n",
        "curl -H 'Authorization: Api-Token {T}' \\\n  https://x.example.com/api\n",
        // URLs and query strings
        "https://abc12345.live.dynatrace.com/api/v1/timeseries?Api-Token={T}&from=now-1h\n",
        "https://abc12345.live.dynatrace.com/api/v1/entity?api-token={T}\n",
        "wget 'https://x.example/api?relativeTime=day&Api-Token={T}'\n",
        "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20{T}\n",
        "OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Api-Token%20{T},x-extra=1\"\n",
        // YAML: plain, quoted, block scalars, Helm values, Actions, compose
        "dynatrace:\n  apiToken: \"{T}\"\n  apiUrl: https://x.live.dynatrace.com/api\n",
        "oneagent:\n  token: |\n    {T}\n",
        "token: >-\n  {T}\n",
        "env:\n  DT_API_TOKEN: {T}\njobs:\n  build:\n    runs-on: ubuntu-latest\n",
        "    steps:\n      - run: curl -H \"Authorization: Api-Token {T}\" $URL\n",
        "services:\n  app:\n    environment:\n      - DT_API_TOKEN={T}\n",
        "stringData:\n  apiToken: {T}\n",
        // JSON (plain, escaped inside a string, minified JS)
        "{\"apiToken\": \"{T}\", \"url\": \"https://x\"}\n",
        "{\"config\":\"{\\\"apiToken\\\":\\\"{T}\\\"}\"}\n",
        "{\"msg\":\"using\\n{T}\\tnow\"}\n",
        "{\"msg\":\"\\u0022{T}\\u0022\"}\n",
        "var a={apiToken:\"{T}\",url:\"https://x\"};function b(){return a}\n",
        "fetch(u,{headers:{Authorization:`Api-Token ${x}`,\"X-Other\":'{T}'}})\n",
        // Terraform / HCL
        "provider \"dynatrace\" {\n  dt_api_token = \"{T}\"\n}\n",
        "variable \"token\" {\n  default = \"{T}\"\n}\n",
        "locals {\n  cfg = <<EOT\nDT_API_TOKEN={T}\nEOT\n}\n",
        // Dockerfile
        "ENV DT_API_TOKEN={T}\n",
        "ARG DT_API_TOKEN={T}\n",
        "ENV DT_API_TOKEN {T}\n",
        // npmrc, netrc, ini, properties
        "//registry.example.com/:_authToken={T}\n",
        "machine abc12345.live.dynatrace.com login envid password {T}\n",
        "[dynatrace]\napi_token = {T}\n",
        "dynatrace.url=https\\://abc12345.live.dynatrace.com/api?Api-Token\\={T}\n",
        "dt.api.token\\:={T}\n",
        // XML / HTML
        "<entry key=\"apiToken\" value=\"{T}\"/>\n",
        "<apiToken>{T}</apiToken>\n",
        "<input type=\"hidden\" name=\"t\" value=\"{T}\">\n",
        "<td><code>{T}</code></td>\n",
        // PowerShell
        "$env:DT_API_TOKEN = \"{T}\"\n",
        "$headers = @{ Authorization = \"Api-Token {T}\" }\n",
        // Markdown
        "| env | token |\n|---|---|\n| prod | {T} |\n",
        "```bash\nexport DT_API_TOKEN={T}\n```\n",
        "Use `{T}` for the demo.\n",
        // logs, code
        "2024-05-02T10:11:12Z INFO [exporter] sending with token={T} to https://x\n",
        "[main] DEBUG headers={Authorization=Api-Token {T}}\n",
        "String token = \"{T}\";\n",
        "TOKEN = os.getenv(\"DT_API_TOKEN\", \"{T}\")\n",
        "let token = \"{T}\".to_string();\n",
        "\"{T}\"",
        "{T}",
        "(({T}))",
        "x;{T};y",
        "\u{feff}{T}\n",
        "α={T}—ok\n",
        "\t{T}\t\n",
    ];
    for tpl in templates {
        let t = token();
        finds_plain(&tpl.replace("{T}", &t), &t, API);
    }
}

#[test]
fn every_structured_kind_is_found_in_context() {
    for (prefix, len, rule) in [
        ("dt0c01", 24, API),
        ("dt0s01", 24, "dynatrace-scim-token"),
        ("dt0g02", 8, "dynatrace-activegate-token"),
        ("dt0s02", 8, "dynatrace-oauth-client-secret"),
        ("dt0s03", 8, "dynatrace-oauth-client-secret"),
        ("dt0s04", 8, "dynatrace-oauth-client-secret"),
        ("dt0s08", 8, "dynatrace-oauth-client-secret"),
        ("dt0s09", 8, "dynatrace-oauth-client-secret"),
        ("dt0s16", 8, "dynatrace-platform-token"),
        ("dt0a99", 24, "dynatrace-token"),
        ("dt0x42", 8, "dynatrace-token"),
    ] {
        for tpl in ["DT_CLIENT_SECRET={T}\n", "  \"secret\": \"{T}\",\n", "Bearer {T}"] {
            let t = token_with(prefix, len);
            finds_plain(&tpl.replace("{T}", &t), &t, rule);
        }
    }
}

#[test]
fn several_tokens_on_one_line_are_each_found() {
    let (a, b) = (token(), token_with("dt0s16", 8));
    let text = format!("A={a} B={b}\n");
    let found = matcher().find(text.as_bytes());
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(&text[found[0].span.clone()], a);
    assert_eq!(&text[found[1].span.clone()], b);
}

// ---------------------------------------------------------------------------------------
// base64

#[test]
fn kubernetes_secret_data_in_base64() {
    let t = token();
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dynakube\ndata:\n  apiToken: {}\n  dataIngestToken: {}\n",
        b64(&t),
        b64("not a token")
    );
    finds_encoded(&text, &t);
    let found = matcher().find(text.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].encoding, Encoding::Base64);
    // Reported at the encoded text, and the whole encoded value is inside the span.
    let at = text.find(&b64(&t)).unwrap();
    assert_eq!(found[0].span.start, at);
}

#[test]
fn docker_config_json_nested_twice_in_base64() {
    let t = token();
    let auth = b64(&format!("envid:{t}"));
    let config = format!(
        "{{\"auths\":{{\"abc12345.live.dynatrace.com\":{{\"username\":\"envid\",\"password\":\"{t}\",\"auth\":\"{auth}\"}}}}}}"
    );
    let text = format!(
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
        b64(&config)
    );
    finds_encoded(&text, &t);
    // Only the auth field, base64 of "envid:token", itself base64-encoded.
    let only_auth = format!(
        "data:\n  .dockerconfigjson: {}\n",
        b64(&format!("{{\"auths\":{{\"x.live.dynatrace.com\":{{\"auth\":\"{auth}\"}}}}}}"))
    );
    finds_encoded(&only_auth, &t);
}

#[test]
fn base64_of_a_whole_env_file_at_every_alignment() {
    for pad in 0..6 {
        let t = token();
        let env = format!("{}DT_URL=https://x\nDT_API_TOKEN={t}\nOTHER=1\n", "#".repeat(pad));
        finds_encoded(&format!("ENV_FILE={}\n", b64(&env)), &t);
        finds_encoded(&format!("env: \"{}\"\n", URL_SAFE_NO_PAD.encode(&env)), &t);
    }
}

#[test]
fn base64_in_json_and_annotations() {
    let t = token_with("dt0s16", 8);
    finds_encoded(&format!("{{\"data\":{{\"token\":\"{}\"}}}}", b64(&t)), &t);
    finds_encoded(&format!("echo {} | base64 -d\n", b64(&t)), &t);
}

// ---------------------------------------------------------------------------------------
// URL encoding

#[test]
fn url_encoded_dots_are_found() {
    let t = token();
    let enc = t.replace('.', "%2E");
    let text = format!("https://x/api?token={enc}&a=1\n");
    let found = matcher().find(text.as_bytes());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(&text[found[0].span.clone()], enc);
    assert_eq!(found[0].fingerprint, sha256(&t), "same token, same fingerprint");
    let masked = tokenguard::mask::mask(text.as_bytes(), std::slice::from_ref(&found[0].secret));
    assert!(!String::from_utf8_lossy(&masked).contains(secret_of(&t)));
    let lower = t.replace('.', "%2e");
    assert_eq!(matcher().find(format!("t={lower}").as_bytes()).len(), 1);
}

// ---------------------------------------------------------------------------------------
// The older 21-character format, in every context the issue names

#[test]
fn legacy_token_in_context() {
    let templates = [
        "curl -H \"Authorization: Api-Token {L}\" https://abc12345.live.dynatrace.com/api/v1/config\n",
        "curl -H 'Authorization: Api-Token {L}' $URL\n",
        "Authorization: Api-Token {L}\r\n",
        "https://abc12345.live.dynatrace.com/api/v1/timeseries?Api-Token={L}\n",
        "https://abc12345.live.dynatrace.com/api/v1/timeseries?relativeTime=hour&api-token={L}&x=1\n",
        "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20{L}\n",
        "DT_API_TOKEN={L}\n",
        "DT_API_TOKEN={L}\r\n",
        "DYNATRACE_API_TOKEN=\"{L}\"\n",
        "export DT_PAAS_TOKEN='{L}'\n",
        "DT_PAAS_TOKEN: {L}\n",
        "  apiToken: {L}\n",
        "  paasToken: \"{L}\"\n",
        "  dataIngestToken: '{L}'\n",
        "{\"apiToken\": \"{L}\"}\n",
        "{\"config\":\"{\\\"paasToken\\\":\\\"{L}\\\"}\"}\n",
        "var c={apiToken:\"{L}\",x:1};\n",
        "dynatrace_api_token = \"{L}\"\n",
        "api_token = \"{L}\"\n",
        "ENV DT_API_TOKEN={L}\n",
        "ARG DYNATRACE_API_TOKEN={L}\n",
        "      - DT_API_TOKEN={L}\n",
        "<apiToken>{L}</apiToken>\n",
        "<paasToken>{L}</paasToken>\n",
        "<entry key=\"apiToken\" value=\"{L}\"/>\n",
        "<param name=\"DT_API_TOKEN\" value=\"{L}\" />\n",
        "$env:DT_API_TOKEN = \"{L}\"\n",
        "$h = @{ Authorization = \"Api-Token {L}\" }\n",
        "dynatrace.apiToken={L}\n",
        "dynatrace.api.token\\={L}\n",
        "| prod | DT_API_TOKEN={L} |\n",
        "2024-05-02 INFO request with Api-Token={L} failed\n",
        "python monitor.py --api-token {L}\n",
        "dtApiToken := \"{L}\"\n",
        "'apiToken' => '{L}',\n",
    ];
    for tpl in templates {
        let l = legacy_token();
        finds_plain(&tpl.replace("{L}", &l), &l, LEGACY);
    }
}

#[test]
fn legacy_format_outside_its_contexts_is_not_a_finding() {
    for tpl in [
        "some_token={L}\n",
        "password={L}\n",
        "id: {L}\n",
        "{L}\n",
        "GITHUB_TOKEN={L}\n",
        "DT_API_TOKEN={L}X\n",
        "DT_API_TOKEN=X{L}\n",
        "DT_API_TOKEN=\n{L}\n",
    ] {
        finds_nothing(&tpl.replace("{L}", &legacy_token()));
    }
}

// ---------------------------------------------------------------------------------------
// Negatives: look-alikes that must stay quiet

#[test]
fn placeholders_templates_and_references_are_not_findings() {
    for text in [
        "DT_API_TOKEN=${DT_API_TOKEN}",
        "DT_API_TOKEN=${{ secrets.DT_API_TOKEN }}",
        "DT_API_TOKEN=$(vault kv get -field=token secret/dynatrace)",
        "DT_API_TOKEN=`cat /run/secrets/dt_token`",
        "apiToken: {{ .Values.dynatrace.apiToken }}",
        "apiToken: {{ .Values.apiToken | b64enc | quote }}",
        "apiToken: \"{{ dynatrace_api_token }}\"",
        "api_token = var.dynatrace_api_token",
        "Authorization: Api-Token <your-token>",
        "Authorization: Api-Token <YOUR_API_TOKEN_HERE>",
        "Authorization: Api-Token $DT_API_TOKEN",
        "Authorization: Api-Token %DT_API_TOKEN%",
        "apiToken: \"********\"",
        "apiToken: \"*********************\"",
        "DT_API_TOKEN=xxx",
        "DT_API_TOKEN=xxxxxxxxxxxxxxxxxxxxx",
        "DT_API_TOKEN=XXXXXXXXXXXXXXXXXXXXX",
        "DT_API_TOKEN=your-api-token-here!!",
        "DT_API_TOKEN=YourDynatraceApiToken",
        "DT_API_TOKEN=getDynatraceApiToken1",
        "DT_API_TOKEN=replace_me_with_token",
        "DT_API_TOKEN=dt0c01.XXXXXXXXXXXXXXXXXXXXXXXX.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "DT_API_TOKEN=dt0c01.ABC123...",
        "DT_API_TOKEN=dt0c01.XXXXXXXX...",
        "DT_API_TOKEN=dt0c01.<public>.<secret>",
        "DT_API_TOKEN=dt0c01.****",
        "token format: dt0c01.{24 chars}.{64 chars}",
        "grep -E 'dt0[a-zA-Z]{1}[0-9]{2}\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}'",
        "pattern: \"dt0[a-zA-Z]{1}[0-9]{2}\\\\.[A-Z0-9]{24}\\\\.[A-Z0-9]{64}\"",
        "regex = r\"dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}\"",
        "apiTokenRequired = true",
        "String apiToken = config.getApiToken();",
        "private static final String DT_API_TOKEN = \"DT_API_TOKEN\";",
        "if (token.startsWith(\"dt0c01.\")) return true;",
    ] {
        finds_nothing(text);
    }
}

#[test]
fn masked_and_truncated_tokens_are_not_findings() {
    let t = token();
    let id = t.rsplit_once('.').unwrap().0.to_string();
    for text in [
        format!("token: {id}.****"),
        format!("token: {id}.{}", "*".repeat(64)),
        format!("token: {id}.****************"),
        format!("token id {id} created"),
        format!("token: {id}.{}…", &secret_of(&t)[..8]),
        format!("token: {}", &t[..t.len() - 1]),
        format!("token: {}X", t),
        format!("token: X{t}"),
        format!("token: 1{t}"),
        format!("token: {}", t.to_lowercase()),
        format!("token: {}", t.replacen("dt0c01", "DT0C01", 1)),
    ] {
        finds_nothing(&text);
    }
}

#[test]
fn a_token_split_by_a_line_wrap_is_not_a_finding() {
    let t = token();
    let (a, b) = t.split_at(60);
    finds_nothing(&format!("DT_API_TOKEN={a}\n{b}\n"));
    finds_nothing(&format!("DT_API_TOKEN={a}\\\n{b}\n"));
    finds_nothing(&format!("\"{a}\" +\n  \"{b}\"\n"));
}

#[test]
fn hashes_ids_and_other_vendors_keys_are_not_findings() {
    let mut rng = common::Rng::new();
    for _ in 0..20 {
        let hex = rng.chars(b"0123456789abcdef", 64);
        let upper_hex = hex.to_uppercase();
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            rng.chars(b"0123456789abcdef", 8),
            rng.chars(b"0123456789abcdef", 4),
            rng.chars(b"0123456789abcdef", 4),
            rng.chars(b"0123456789abcdef", 4),
            rng.chars(b"0123456789abcdef", 12)
        );
        let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{}.{}", rng.chars(alnum, 40), rng.chars(alnum, 43));
        let aws = format!("AKIA{}", rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let aws_secret = rng.chars(alnum, 40);
        let blob = STANDARD.encode(rng.chars(alnum, 300));
        for text in [
            format!("sha256 = \"{hex}\""),
            format!("digest: sha256:{upper_hex}"),
            format!("id: {uuid}"),
            format!("DT_API_TOKEN={uuid}"),
            format!("Authorization: Bearer {jwt}"),
            format!("apiToken: {jwt}"),
            format!("aws_access_key_id = {aws}\naws_secret_access_key = {aws_secret}"),
            format!("data: {blob}"),
            format!("dt0c01.{}.{hex}", &upper_hex[..24]),
            format!("commit {hex} (dt0c01 rotation)"),
        ] {
            finds_nothing(&text);
        }
    }
}

#[test]
fn random_bytes_and_base64_produce_no_finding() {
    let mut rng = common::Rng::new();
    let mut bytes = vec![0u8; 1 << 20];
    for b in bytes.iter_mut() {
        *b = rng.next() as u8;
    }
    assert!(matcher().find(&bytes).is_empty());
    let text = STANDARD.encode(&bytes);
    assert!(matcher().find(text.as_bytes()).is_empty());
}

#[test]
fn known_documentation_examples_are_not_findings_in_any_context() {
    for k in tokenguard::rules::KNOWN_EXAMPLES {
        for text in [
            format!("DT_API_TOKEN={k}"),
            format!("Authorization: Api-Token {k}"),
            format!("  apiToken: {}", b64(k)),
        ] {
            finds_nothing(&text);
        }
    }
}

#[test]
fn two_legacy_tokens_on_one_long_line_are_both_found() {
    // The second key stands close to the first, its value beyond the first key's window.
    let (a, b) = (common::legacy_token(), common::legacy_token());
    for gap in [100, 150, 170, 190, 250] {
        let line = format!("DT_API_TOKEN={a}{}DT_PAAS_TOKEN={b}\n", " ".repeat(gap));
        let found = matcher().find(line.as_bytes());
        let spans: Vec<&str> = found.iter().map(|m| &line[m.span.clone()]).collect();
        assert_eq!(spans, vec![a.as_str(), b.as_str()], "gap {gap}");
    }
}

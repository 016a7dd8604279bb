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

/// Keyed secrets, which have no signature of their own in base64, in base64 of a whole `.env`
/// file as a Kubernetes Secret holds it: found wherever the blob starts in the file (the pass
/// over base64 samples it every 48 bytes and decodes what decodes to text; samples whose
/// groups start with a line end were once passed over, and a Secret's name decided), and
/// after a UTF-8 byte order mark.
#[test]
fn keyed_secrets_in_base64_of_an_env_file_wherever_it_starts() {
    let mut rng = common::Rng::new();
    let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Random values, drawn again where one happens to look made up (a fixture word).
    let mut random = |n: usize| loop {
        let s = rng.chars(alnum, n);
        if !tokenguard::matcher::is_placeholder_part(s.as_bytes()) {
            return s;
        }
    };
    let m = matcher();
    // Each name length with and without a UTF-8 byte order mark before the file (saved so
    // on Windows), its first line a key.
    for (name_len, bom) in (1..=50).flat_map(|n| [(n, ""), (n, "\u{FEFF}")]) {
        let aws = format!("{}/{}", random(20), random(19));
        let env = format!(
            "{bom}DT_API_TOKEN={}\nA=1\nLOG=info\nB=2\nAWS_SECRET_ACCESS_KEY={aws}\nC=3\n\
             TWILIO_API_SECRET={}\nPORT=8080\n",
            legacy_token(),
            random(32)
        );
        let secret = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {}\ntype: Opaque\ndata:\n  .env: {}\n",
            "a".repeat(name_len),
            b64(&env)
        );
        let found = m.find(secret.as_bytes());
        let mut rules: Vec<&str> = found.iter().map(|f| m.rules()[f.rule].id.as_str()).collect();
        rules.sort_unstable();
        assert_eq!(
            rules,
            ["aws-secret-access-key", LEGACY, "twilio-api-secret"],
            "a Secret named with {name_len} characters, byte order mark: {}",
            !bom.is_empty()
        );
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

/// A token after a JSON escape inside a URL (`%5Cn`, encoded twice `%255Cn`): the escape is a
/// boundary, as `\n` is in JSON.
#[test]
fn a_token_after_a_url_encoded_json_escape_is_found() {
    let t = token();
    for text in [
        format!("https://x/cb?data=%7B%22msg%22%3A%22token%5Cn{t}%22%7D\n"),
        format!("https://x/cb?next=%252Fcb%253Fdata%253D%2522token%255Cn{t}%2522\n"),
    ] {
        finds_plain(&text, &t, "dynatrace-api-token");
    }
    finds_nothing(&format!("https://x/cb?data=token5Cn{t}\n"));
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
        // Keys in mixed case: the keyword search ignores case, as the key pattern does.
        "  ApiToKeN: {L}\n",
        "Dt_Api_ToKen={L}\n",
    ];
    for tpl in templates {
        let l = legacy_token();
        finds_plain(&tpl.replace("{L}", &l), &l, LEGACY);
    }
}

/// The older format after its key with the separators escaped: a URL inside a URL
/// (`Api-Token%3D…`), HTML (`&#x27;`, `&#39;`, `&lt;…&gt;` around an XML element), JSON
/// inside JSON inside JSON; found where it stands and masked. Placeholders in the same
/// places stay clean.
#[test]
fn legacy_token_after_escaped_separators() {
    let m = matcher();
    let t = legacy_token();
    let cases = [
        format!("https://example.com/cb?next=https%3A%2F%2Fabc12345.live.dynatrace.com%2Fapi%2Fv1%2Ftimeseries%3FApi-Token%3D{t}\n"),
        format!("https://example.com/cb?next=%2Fapi%2Fv1%2Fentity%253FApi-Token%253D{t}%2526x%253D1\n"),
        format!("<pre>export DYNATRACE_API_TOKEN=&#x27;{t}&#x27;</pre>\n"),
        format!("<td>DT_API_TOKEN=&#39;{t}&#39;</td>\n"),
        format!("<pre>&lt;dataIngestToken&gt;{t}&lt;/dataIngestToken&gt;</pre>\n"),
        format!("{{\"a\": \"{{\\\"b\\\": \\\"{{\\\\\\\"DT_API_TOKEN\\\\\\\": \\\\\\\"{t}\\\\\\\"}}\\\"}}\"}}\n"),
    ];
    for text in &cases {
        let layout = text.replace(&t, "{T}");
        let found = m.find(text.as_bytes());
        let f = found.iter().find(|f| f.fingerprint == sha256(&t));
        let f = f.unwrap_or_else(|| panic!("not found in {layout}"));
        assert_eq!(&text[f.span.clone()], t, "{layout}: the match stands on the token");
        let masked = tokenguard::mask::mask(text.as_bytes(), std::slice::from_ref(&f.secret));
        assert!(!String::from_utf8_lossy(&masked).contains(&t), "{layout}");
    }
    for text in [
        "https://x/cb?next=%2Fapi%2Fv1%3FApi-Token%3D%24%7BDT_API_TOKEN%7D\n",
        "https://x/cb?next=%2Fapi%2Fv1%3FApi-Token%3Dabcdefghijklmnopqrstu\n",
        "<pre>export DYNATRACE_API_TOKEN=&#x27;${DT_API_TOKEN}&#x27;</pre>\n",
        "<td>DT_API_TOKEN=&#39;&lt;your-token&gt;&#39;</td>\n",
    ] {
        finds_nothing(text);
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
            format!("data: {blob}"),
            format!("dt0c01.{}.{hex}", &upper_hex[..24]),
            format!("commit {hex} (dt0c01 rotation)"),
        ] {
            finds_nothing(&text);
        }
        // An AWS key pair is a finding of the AWS rules (tests/providers.rs), never of another
        // provider's.
        let pair = format!("aws_access_key_id = {aws}\naws_secret_access_key = {aws_secret}");
        let found = tokenguard::matcher::Matcher::builtin().find(pair.as_bytes());
        let rules = tokenguard::matcher::Matcher::builtin();
        assert!(found.iter().all(|m| rules.rules()[m.rule].provider == "aws"));
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
    for k in tokenguard::rules::known_examples() {
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

// ---------------------------------------------------------------------------------------
// Base64 wrapped over lines (`base64` wraps at 76 columns, PEM at 64, YAML block scalars,
// JSON strings with `\n` escapes)

/// `text` wrapped every `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    text.as_bytes().chunks(width).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect()
}

/// Asserts one finding of `token` in base64 reported where `encoded` starts, and that the
/// mask removes the secret while keeping every byte outside the encoded characters (line
/// ends, indentation, escapes) as it was.
#[track_caller]
fn finds_wrapped(text: &str, token: &str, encoded_at: usize) {
    let m = matcher();
    let found = m.find(text.as_bytes());
    let hits: Vec<_> = found.iter().filter(|f| f.fingerprint == sha256(token)).collect();
    assert_eq!(hits.len(), 1, "token not found once in {text:?}: {found:?}");
    assert_eq!(hits[0].encoding, Encoding::Base64);
    assert_eq!(hits[0].span.start, encoded_at, "{text:?}");
    let ranges: Vec<_> = found.iter().map(|f| f.secret.clone()).collect();
    let masked = tokenguard::mask::mask(text.as_bytes(), &ranges);
    assert_eq!(masked.len(), text.len());
    for (i, (&a, &b)) in text.as_bytes().iter().zip(&masked).enumerate() {
        if a != b {
            assert!(b == b'*' && (a.is_ascii_alphanumeric() || b"+/-_".contains(&a)), "byte {i}");
        }
    }
    assert_no_secret_wrapped(&masked, secret_of(token));
    assert!(m.find(&masked).iter().all(|f| f.fingerprint != sha256(token)), "found after mask");
}

/// No trace of `secret` in `bytes`, with the line ends of base64 taken out before decoding.
#[track_caller]
fn assert_no_secret_wrapped(bytes: &[u8], secret: &str) {
    assert_no_secret(bytes, secret);
    let text = String::from_utf8_lossy(bytes).replace("\\r\\n", "").replace("\\n", "");
    let joined: String =
        text.lines().map(|l| l.trim_start()).collect::<Vec<_>>().join("").replace('\r', "");
    assert_no_secret(joined.as_bytes(), secret);
}

#[test]
fn base64_wrapped_by_the_base64_tool_is_found_and_masked() {
    for (prefix, len) in [("dt0c01", 24), ("dt0s16", 8), ("dt0g02", 8)] {
        let t = token_with(prefix, len);
        let lines = wrap(&b64(&t), 76);
        assert!(lines.len() >= 2);
        for eol in ["\n", "\r\n"] {
            let text = lines.join(eol) + eol;
            finds_wrapped(&text, &t, 0);
            // Without a line end after the last line, too.
            finds_wrapped(&lines.join(eol), &t, 0);
        }
        // PEM-like block, 64 columns.
        let body = wrap(&b64(&t), 64).join("\n");
        let pem = format!("-----BEGIN TOKEN-----\n{body}\n-----END TOKEN-----\n");
        finds_wrapped(&pem, &t, pem.find('\n').unwrap() + 1);
    }
}

#[test]
fn base64_wrapped_in_yaml_and_json_is_found_and_masked() {
    let t = token();
    let enc = b64(&t);
    let lines = wrap(&enc, 76);
    for indent in ["  ", "    ", "\t", "          "] {
        let text = format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  apiToken: |\n{indent}{}\n  other: dGVzdA==\n",
            lines.join(&format!("\n{indent}"))
        );
        finds_wrapped(&text, &t, text.find("ZHQw").unwrap());
        let crlf = text.replace('\n', "\r\n");
        finds_wrapped(&crlf, &t, crlf.find("ZHQw").unwrap());
    }
    // Plain scalar continued on indented lines, and a value after `key: ` on the first line.
    let text = format!("data:\n  apiToken: {}\n    {}\n", lines[0], lines[1]);
    finds_wrapped(&text, &t, text.find("ZHQw").unwrap());
    // JSON (and JSON in YAML) strings with `\n` and `\r\n` escapes, as `base64` output pasted.
    for esc in ["\\n", "\\r\\n"] {
        let text = format!("{{\"apiToken\": \"{}{esc}\"}}\n", lines.join(esc));
        finds_wrapped(&text, &t, text.find("ZHQw").unwrap());
    }
}

#[test]
fn wrapped_base64_of_a_whole_file_at_every_alignment() {
    for pad in 0..6 {
        let t = token();
        let env = format!("{}DT_URL=https://x\nDT_API_TOKEN={t}\nOTHER=1\n", "#".repeat(pad));
        let enc = b64(&env);
        for width in [64, 76] {
            let text = format!("{}\n", wrap(&enc, width).join("\n"));
            let found = matcher().find(text.as_bytes());
            // The signature of `dt0` may itself be cut by a line end (alignments 1 and 2):
            // then the token is not found (see docs/rules.md); otherwise it must be.
            let sig_cut = (0..text.len())
                .all(|i| !["ZHQw", "R0M", "kdDB"].iter().any(|s| text[i..].starts_with(s)));
            if sig_cut {
                continue;
            }
            assert!(found.iter().any(|f| f.fingerprint == sha256(&t)), "pad {pad} width {width}");
            let ranges: Vec<_> = found.iter().map(|f| f.secret.clone()).collect();
            assert_no_secret_wrapped(&tokenguard::mask::mask(text.as_bytes(), &ranges), &t[40..]);
        }
    }
}

#[test]
fn wrapped_base64_negatives() {
    let t = token();
    let enc = b64(&t);
    let lines = wrap(&enc, 76);
    // A line that ends inside a 4-character group does not continue.
    let (a, b) = enc.split_at(75);
    finds_nothing(&format!("{a}\n{b}\n"));
    // Lines separated by a blank line, or by text, are not one block.
    finds_nothing(&format!("{}\n\n{}\n", lines[0], lines[1]));
    finds_nothing(&format!("{}\n# note\n{}\n", lines[0], lines[1]));
    // A token cut in two and each half encoded on its own (with padding: halves of a
    // multiple of 3 bytes encode to the same text as the whole, wrapped).
    let (x, y) = t.split_at(47);
    finds_nothing(&format!("{}\n{}\n", b64(x), b64(y)));
    // The documented example and placeholders stay quiet when wrapped.
    for k in tokenguard::rules::known_examples() {
        finds_nothing(&(wrap(&b64(k), 76).join("\n") + "\n"));
    }
    let placeholder = format!("dt0c01.{}.{}", "X".repeat(24), "X".repeat(64));
    finds_nothing(&(wrap(&b64(&placeholder), 76).join("\n") + "\n"));
    // Random wrapped base64 blobs (certificates, images) produce nothing.
    let mut rng = common::Rng::new();
    let bytes: Vec<u8> = (0..100_000).map(|_| rng.next() as u8).collect();
    let blob = wrap(&STANDARD.encode(&bytes), 76).join("\n    ");
    finds_nothing(&blob);
}

#[test]
fn a_token_after_a_full_last_line_is_still_found() {
    // The block's last line ends on a full group and the next line starts with base64
    // characters: the decoding stops at the shorter line, so the token's end is clean.
    let t = token();
    let lines = wrap(&b64(&t), 76);
    let text = format!("  apiToken: |\n    {}\n    {}\n  kind: Secret\n", lines[0], lines[1]);
    finds_wrapped(&text, &t, text.find("ZHQw").unwrap());
}

#[test]
fn base64_wrapped_narrower_than_a_run_is_found() {
    // Lines shorter than the shortest run of base64 that the keyword search reads (23): the
    // wrapped lines, their line ends and indentation are read as one run.
    for width in [8, 12, 16, 20] {
        for (eol, indent) in [("\n", ""), ("\r\n", ""), ("\n", "    "), ("\r\n", "\t")] {
            let t = token();
            let lines = wrap(&b64(&t), width);
            let body: Vec<String> = lines.iter().map(|l| format!("{indent}{l}")).collect();
            let text = format!("data: |{eol}{}{eol}kind: Secret{eol}", body.join(eol));
            finds_wrapped(&text, &t, text.find("ZHQw").unwrap());
        }
    }
}

#[test]
fn long_runs_of_wrapped_signatures_stay_linear() {
    // `ZHQw` repeated over many 76-column lines: every line is a signature.
    let line = "ZHQw".repeat(19);
    let text = vec![line; 20_000].join("\n");
    let start = std::time::Instant::now();
    finds_nothing(&text);
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "{:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------
// E-mail (quoted-printable), HTML entities, UTF-16 for the older format

#[test]
fn quoted_printable_tokens_are_found_and_masked() {
    for (prefix, len) in [("dt0c01", 24), ("dt0s16", 8)] {
        let t = token_with(prefix, len);
        let qp_dots = t.replace('.', "=2E");
        for written in [t.clone(), qp_dots.clone()] {
            for cut in [10, 40, 60, 75, written.len() - 3] {
                for eol in ["\n", "\r\n"] {
                    let (a, b) = written.split_at(cut);
                    let text = format!("Your token:{eol}{a}={eol}{b}{eol}Regards{eol}");
                    let found = matcher().find(text.as_bytes());
                    assert_eq!(found.len(), 1, "{text:?}: {found:?}");
                    assert_eq!(found[0].fingerprint, sha256(&t));
                    assert_eq!(found[0].span.start, text.find("dt0").unwrap());
                    let masked = tokenguard::mask::mask(
                        text.as_bytes(),
                        std::slice::from_ref(&found[0].secret),
                    );
                    let masked = String::from_utf8(masked).unwrap();
                    assert!(masked.contains(&format!("={eol}")), "soft break kept: {masked}");
                    let joined = masked.replace(&format!("={eol}"), "");
                    assert!(!joined.contains(secret_of(&t)), "{masked}");
                    assert!(!joined.contains(&secret_of(&t)[..20]), "{masked}");
                }
            }
        }
        // Dots written `=2E` on one line.
        finds_plain_encoded_dots(&format!("token: {qp_dots}\n"), &qp_dots, &t);
    }
}

#[test]
fn keywords_cut_by_crlf_and_lf_soft_breaks_in_one_input_are_all_found() {
    // A keyword cut by a CRLF soft break, then one cut by an LF soft break (two mails in one
    // file): each is found (the CRLF one was missed once the LF one had been read).
    for crlf_first in [true, false] {
        let (t1, t2) = (token(), token());
        let part =
            |t: &str, eol: &str| format!("{} d={eol}{}{eol}Regards{eol}", "A".repeat(69), &t[1..]);
        let (a, b) = if crlf_first {
            (part(&t1, "\r\n"), part(&t2, "\n"))
        } else {
            (part(&t1, "\n"), part(&t2, "\r\n"))
        };
        let text = format!("{a}\n{b}");
        let found = matcher().find(text.as_bytes());
        let prints: Vec<&str> = found.iter().map(|m| m.fingerprint.as_str()).collect();
        assert_eq!(prints, [sha256(&t1), sha256(&t2)], "CRLF first: {crlf_first}");
    }
}

#[track_caller]
fn finds_plain_encoded_dots(text: &str, written: &str, token: &str) {
    let found = matcher().find(text.as_bytes());
    assert_eq!(found.len(), 1, "{text:?}: {found:?}");
    assert_eq!(&text[found[0].span.clone()], written);
    assert_eq!(found[0].fingerprint, sha256(token));
    let masked = tokenguard::mask::mask(text.as_bytes(), std::slice::from_ref(&found[0].secret));
    assert!(!String::from_utf8_lossy(&masked).contains(secret_of(token)));
}

#[test]
fn quoted_printable_negatives() {
    let t = token();
    let (a, b) = t.split_at(50);
    // A hard line break (no `=`) or a soft break followed by more characters at the end.
    finds_nothing(&format!("{a}\n{b}\n"));
    finds_nothing(&format!("{a}=\n{b}X\n"));
    finds_nothing(&format!("{a}=\n{b}=\nX\n"));
    // Soft breaks in a masked or placeholder token.
    let id = t.rsplit_once('.').unwrap().0;
    finds_nothing(&format!("{id}.{}=\n{}\n", "*".repeat(30), "*".repeat(34)));
    finds_nothing(&format!("dt0c01=2E{}=\n=2E{}\n", "X".repeat(24), "X".repeat(64)));
}

#[test]
fn html_entity_dots_are_found() {
    let t = token();
    for dot in ["&#46;", "&#046;", "&#x2e;", "&#x2E;", "&period;"] {
        let written = t.replace('.', dot);
        finds_plain_encoded_dots(&format!("<code>{written}</code>\n"), &written, &t);
    }
    finds_nothing(&format!("dt0c01&period;{}&period;{}", "X".repeat(24), "X".repeat(64)));
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let units = text.encode_utf16();
    if big_endian {
        std::iter::once(0xFEFF_u16).chain(units).flat_map(u16::to_be_bytes).collect()
    } else {
        std::iter::once(0xFEFF_u16).chain(units).flat_map(u16::to_le_bytes).collect()
    }
}

/// In UTF-16 text as in UTF-8, a token may follow an escape that ends in a letter or digit
/// (`%20`, `\n` in a JSON string, `\u0020`), but not a letter or digit.
#[test]
fn tokens_after_escapes_in_utf16_text_are_found() {
    for big_endian in [false, true] {
        for before in ["Api-Token%20", "{\"msg\":\"token\\n", "x=\\u0020", "a=%2520", "a=\\t"] {
            let t = token();
            let bytes = utf16(&format!("{before}{t}\"}}\r\n"), big_endian);
            let found = matcher().find(&bytes);
            assert_eq!(found.len(), 1, "{before} be={big_endian}");
            assert_eq!(found[0].fingerprint, sha256(&t), "{before} be={big_endian}");
        }
        let bytes = utf16(&format!("Api-Tokenx{}\r\n", token()), big_endian);
        assert!(matcher().find(&bytes).is_empty(), "after a letter, be={big_endian}");
    }
}

#[test]
fn legacy_tokens_in_utf16_text_are_found_and_masked() {
    for big_endian in [false, true] {
        for tpl in [
            "DT_API_TOKEN={L}\r\n",
            "$env:DT_API_TOKEN = \"{L}\"\r\n",
            "Authorization: Api-Token {L}\r\n",
            "# config\r\nsomething=1\r\n  \"apiToken\": \"{L}\",\r\n",
            "https://x.live.dynatrace.com/api/v1/x?Api-Token={L}",
        ] {
            let l = legacy_token();
            let bytes = utf16(&tpl.replace("{L}", &l), big_endian);
            let found = matcher().find(&bytes);
            assert_eq!(found.len(), 1, "{tpl} be={big_endian}: {found:?}");
            let f = &found[0];
            assert_eq!(matcher().rules()[f.rule].id, LEGACY);
            assert_eq!(f.fingerprint, sha256(&l));
            let value = utf16(&l, big_endian)[2..].to_vec();
            let at = bytes.windows(value.len()).position(|w| w == value).unwrap();
            let first = at + usize::from(big_endian);
            assert_eq!(f.span, first..first + value.len() - 1, "{tpl} be={big_endian}");
            let masked = tokenguard::mask::mask(&bytes, std::slice::from_ref(&f.secret));
            assert_eq!(masked.len(), bytes.len());
            let narrowed: Vec<u8> = masked.iter().copied().filter(|&b| b != 0).collect();
            assert!(!String::from_utf8_lossy(&narrowed).contains(&l));
        }
    }
}

#[test]
fn legacy_utf16_negatives() {
    for big_endian in [false, true] {
        for tpl in [
            "GITHUB_TOKEN={L}\r\n",
            "DT_API_TOKEN=${DT_API_TOKEN}\r\n",
            "DT_API_TOKEN=YourApiTokenGoesHere1\r\n",
            "token\r\n{L}\r\n",
            "DT_API_TOKEN={L}X\r\n",
        ] {
            finds_nothing_bytes(&utf16(&tpl.replace("{L}", &legacy_token()), big_endian));
        }
    }
}

#[track_caller]
fn finds_nothing_bytes(bytes: &[u8]) {
    let found = matcher().find(bytes);
    assert!(found.is_empty(), "false positive: {found:?}");
}

// ---------------------------------------------------------------------------------------
// More contexts: notebooks, subscripts, Kubernetes env lists, URLs with userinfo, HTTP logs

#[test]
fn structured_tokens_in_more_contexts() {
    let templates = [
        // Jupyter notebook: JSON strings with `\n` escapes.
        "{\"cells\":[{\"source\":[\"import os\\n\",\"os.environ['DT_API_TOKEN'] = '{T}'\\n\"]}]}",
        "  \"source\": [\"token = \\\"{T}\\\"\\n\"]\n",
        // URL userinfo, HTTP logs, curl.
        "https://envid:{T}@abc12345.live.dynatrace.com/api/v2/metrics\n",
        "GET /api/v2/metrics HTTP/1.1\r\nAuthorization: Api-Token {T}\r\n\r\n",
        "curl -sS -H \"Authorization: Bearer {T}\" https://x.apps.dynatrace.com\n",
        // Terraform, Helm, npmrc, PowerShell here-string, TSV.
        "resource \"x\" \"y\" {\n  token = \"{T}\"\n}\n",
        "helm upgrade --install op dynatrace/dynatrace-operator --set apiToken={T}\n",
        "//npm.pkg.example.com/:_authToken=\"{T}\"\n",
        "$cfg = @\"\nDT_API_TOKEN={T}\n\"@\n",
        "prod\t{T}\tactive\n",
    ];
    for tpl in templates {
        let t = token();
        finds_plain(&tpl.replace("{T}", &t), &t, API);
    }
}

#[test]
fn legacy_tokens_in_more_contexts() {
    let templates = [
        "os.environ['DT_API_TOKEN'] = '{L}'\n",
        "config[\"apiToken\"] = \"{L}\"\n",
        "    \"os.environ[\\\"DT_API_TOKEN\\\"] = \\\"{L}\\\"\\n\",\n",
        "env:\n- name: DT_API_TOKEN\n  value: {L}\n",
        "        - name: \"DT_API_TOKEN\"\r\n          value: \"{L}\"\r\n",
        "{\"name\":\"DT_API_TOKEN\",\"value\":\"{L}\"}\n",
        "[{\"name\": \"DYNATRACE_API_TOKEN\", \"value\": \"{L}\"}]\n",
        "<add key=\"apiToken\" value=&quot;{L}&quot; />\n",
        "DT_API_TOKEN=&#34;{L}&#34;\n",
        "kubectl create secret generic dynakube --from-literal=\"apiToken={L}\"\n",
        // A blank line or a comment between name and value (issue 16: once a limit).
        "- name: DT_API_TOKEN\n\n  value: {L}\n",
        "- name: DT_API_TOKEN\n  # rotated monthly\n  value: {L}\n",
        // Pretty-printed JSON, and the value before the name.
        "{\n  \"name\": \"DT_API_TOKEN\",\n  \"value\": \"{L}\"\n}\n",
        "- value: {L}\n  name: DT_API_TOKEN\n",
        "[{\"value\": \"{L}\", \"name\": \"DT_API_TOKEN\"}]\n",
        // Tables: Markdown (plain and in code spans), `;`-separated.
        "| DT_API_TOKEN | {L} |\n",
        "| `DT_API_TOKEN` | `{L}` |\n",
        "DT_API_TOKEN;{L};prod\n",
    ];
    for tpl in templates {
        let l = legacy_token();
        finds_plain(&tpl.replace("{L}", &l), &l, LEGACY);
    }
}

#[test]
fn legacy_more_contexts_negatives() {
    for tpl in [
        "- name: OTHER_TOKEN\n  value: {L}\n",
        "- name: DT_API_TOKEN\n  valueFrom:\n    secretKeyRef: {L}\n",
        "- name: DT_API_TOKEN\n  other: x\n  value: {L}\n",
        "- value: {L}\n- name: DT_API_TOKEN\n",
        "{\"name\":\"GITHUB_TOKEN\",\"value\":\"{L}\"}\n",
        "env['SOME_TOKEN'] = '{L}'\n",
        "DT_API_TOKEN=&quot;${DT_API_TOKEN}&quot;\n",
        "| DT_API_TOKEN | `${DT_API_TOKEN}` |\n",
        "| OTHER_TOKEN | {L} |\n",
    ] {
        finds_nothing(&tpl.replace("{L}", &legacy_token()));
    }
}

/// A line of base64 holding a token, then a line that merely starts with base64 characters
/// (`a+"`, a YAML key, prose): read as the next line of a wrapped block it put bytes after the
/// token (found by the leak property test: `:dt0g02…` in base64, then `a+"`).
#[test]
fn a_base64_line_is_read_alone_when_the_next_line_only_starts_like_base64() {
    use base64::Engine;
    for (prefix, len) in common::TOKEN_KINDS {
        for lead in ["", ":", "u:"] {
            let t = token_with(prefix, *len);
            let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{lead}{t}"));
            for next in ["a+\"", "key2: dmFsdWU=", "next line", "Zm9v"] {
                if enc.len() % 4 != 0 {
                    continue;
                }
                let text = format!("\n{enc}\n{next}\n");
                let found = matcher().find(text.as_bytes());
                assert_eq!(found.len(), 1, "{prefix} lead {lead:?} then {next:?}");
                assert_eq!(found[0].fingerprint, sha256(&t));
                let masked =
                    tokenguard::mask::mask(text.as_bytes(), std::slice::from_ref(&found[0].secret));
                assert!(
                    !String::from_utf8_lossy(&masked).contains(&enc),
                    "{prefix}: the base64 survived masking"
                );
            }
        }
    }
}

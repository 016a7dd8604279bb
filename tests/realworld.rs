//! Precision and recall on the shapes of real public files: each test is built from lines
//! read in public repositories (Dynatrace's operator samples and docs, OpenTelemetry set-ups,
//! Terraform, PowerShell and shell scripts, scanners' own test tables), with every
//! real-looking token replaced by a synthetic one generated at run time; the text around it
//! is kept verbatim. Then contexts neither the shared corpus nor tests/contexts.rs covers:
//! notebooks, Postman and HAR files, Terraform state, shell history, CSV, SQL, YAML anchors,
//! typographic quotes, a BOM, UTF-16 text, PowerShell's `-EncodedCommand`, double URL
//! encoding and HTML character references.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{legacy_token, secret_of, token, token_with, tokenguard, Rng};
use tokenguard::matcher::{fingerprint, Match, Matcher};
use tokenguard::rules::{known_example_parts, known_examples};

fn find(text: &[u8]) -> Vec<Match> {
    Matcher::builtin().find(text)
}

/// Exactly one finding in `text`, of `rule`, with the fingerprint of `token`; masking it
/// removes every trace of the secret (`secret`: the part that must go).
#[track_caller]
fn finds_one(text: &[u8], token: &str, rule: &str) -> Match {
    let m = Matcher::builtin();
    let found = m.find(text);
    assert_eq!(found.len(), 1, "expected one finding in {:?}: {found:?}", lossy(text));
    let f = found.into_iter().next().unwrap();
    assert_eq!(m.rules()[f.rule].id, rule, "{:?}", lossy(text));
    assert_eq!(f.fingerprint, fingerprint(token.as_bytes()));
    let secret = if rule == "dynatrace-legacy-token" { token } else { secret_of(token) };
    assert!(!f.masked.contains(secret));
    let masked = tokenguard::mask::mask(text, std::slice::from_ref(&f.secret));
    assert!(!lossy(&masked).contains(secret), "secret left in {:?}", lossy(&masked));
    f
}

#[track_caller]
fn finds_nothing(text: &str) {
    let found = find(text.as_bytes());
    assert!(found.is_empty(), "false positive in {text:?}: {found:?}");
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn b64(s: impl AsRef<[u8]>) -> String {
    STANDARD.encode(s)
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

const API: &str = "dynatrace-api-token";
const LEGACY: &str = "dynatrace-legacy-token";

// ---------------------------------------------------------------------------------------
// Real tokens as public files hold them (shapes kept, tokens synthetic)

#[test]
fn powershell_hashtable_header_and_base64_literal() {
    let t = token();
    // A monitoring script: the token inline in an Invoke-RestMethod header table.
    let text = format!(
        "$curlHeaders = @{{\n    \"Authorization\" = \"Api-Token {t}\"\n    \"accept\" = \"application/json\"\n}}\n"
    );
    finds_one(text.as_bytes(), &t, API);
    // A backup check: the token kept in base64 and decoded at run time.
    let text = format!(
        "\t$apiAuth = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String(\"{}\"))\n\n\t$header = @{{\n\t \"Authorization\"=\"Api-Token $apiAuth\"\n\t}}\n",
        b64(&t)
    );
    finds_one(text.as_bytes(), &t, API);
}

#[test]
fn operator_install_script_with_base64_tokens_quoted_and_bare() {
    let (a, p) = (token(), token());
    for q in ["\"", ""] {
        let text = format!(
            "#!/bin/bash\nAPI_URL=\"https://xsj12315.live.dynatrachtte.com/api\"\nAPI_TOKEN={q}{}{q}\nPAAS_TOKEN={q}{}{q}\nCLUSTER_NAME=\"eks_cluster\"\n",
            b64(&a),
            b64(&p)
        );
        let found = find(text.as_bytes());
        let prints: Vec<_> = found.iter().map(|f| f.fingerprint.clone()).collect();
        assert_eq!(prints, [fingerprint(a.as_bytes()), fingerprint(p.as_bytes())], "{text}");
    }
}

#[test]
fn terraform_variable_defaults_plain_and_base64() {
    let t = token();
    let text = format!(
        "variable \"dynatrace_paas_token\" {{ \n    default = \"{t}\"\n}}\nvariable \"dynatrace_api_token\" {{ \n    default = \"{}\"\n}}\n",
        b64(&t)
    );
    let found = find(text.as_bytes());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|f| f.fingerprint == fingerprint(t.as_bytes())));
}

#[test]
fn legacy_token_with_underscore_and_dash_in_an_api_token_url_parameter() {
    // A browser-extension policy script: the older format holds `_` and `-` too.
    let t = loop {
        let mut t = legacy_token().into_bytes();
        t[2] = b'_';
        t[10] = b'-';
        if tokenguard::matcher::is_plausible_legacy(&t) {
            break String::from_utf8(t).unwrap();
        }
    };
    let text = format!(
        "$FetchUrlValue = \"https://cagf-dt.example.com:443/e/d3610855-748f-4365-9bb1-f036451fac27/api/v1/browserextension/config?Api-Token={t}\"\n"
    );
    finds_one(text.as_bytes(), &t, LEGACY);
}

#[test]
fn eight_character_public_part_under_an_scim_prefix_goes_to_the_generic_rule() {
    // A scanner's test table held `dt0s01.<8>.<64>`: not the SCIM shape, still a token.
    let t = token_with("dt0s01", 8);
    let text =
        format!("\t\t\"DYNATRACE_INTERNAL_TOKEN\": {{\n\t\t\t{{input: \"{t}\"}},\n\t\t}},\n");
    finds_one(text.as_bytes(), &t, "dynatrace-token");
}

// ---------------------------------------------------------------------------------------
// Documentation examples and their edits (public code changes the prefix or a character)

fn random_part(n: usize) -> String {
    Rng::new().chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n)
}

#[test]
fn documented_examples_edited_are_not_findings() {
    // The documented parts, as rules/dynatrace.toml lists them: the public part and the
    // secret of the API token example, that secret edited, the ActiveGate example's public
    // part.
    let parts = known_example_parts();
    let (public, secret, edited_secret, activegate_public) =
        (parts[0], parts[1], parts[2], parts[3]);
    assert_eq!((public.len(), secret.len(), activegate_public.len()), (24, 64, 8));
    assert!(secret != edited_secret && secret[..58] == edited_secret[..58]);
    // The OpenTelemetry collector's redaction tests: the documented parts under every prefix,
    // with the secret's `572RZM` ending as `573RZM`.
    for prefix in ["dt0s01", "dt0s02", "dt0s09", "dt0a01", "dt0c01"] {
        finds_nothing(&format!(
            "ingestedAttrs.PutStr(\"t1\", \"{prefix}.{public}.{}\")",
            edited_secret
        ));
    }
    // A redaction tool's sample: the documented public part with another secret.
    finds_nothing(&format!(
        "\"dynatrace-api-token\": \"Token: dt0c01.{public}.{}\",",
        random_part(64)
    ));
    // The documented secret under another public part.
    finds_nothing(&format!("token: dt0s02.{}.{secret}", random_part(8)));
    finds_nothing(&format!("dt0g02.{}.{}", activegate_public, random_part(64)));
    // The documented token with a letter O for the zero (keptn's tests), split in two
    // strings, cut short: never a finding anyway.
    let k = known_examples().iter().find(|k| k.starts_with("dt0c01")).unwrap();
    finds_nothing(&format!("const testDynatraceAPIToken = \"{}\"", k.replacen("dt0", "dtO", 1)));
    finds_nothing(&format!("\"Token: {}\"\n        \"{}\"", &k[..32], &k[32..]));
    finds_nothing(&format!("dt_token = \"{}M36SZIRGEIRYMQ\"", &k[..70]));
    // Every known example part appears in `tokenguard rules`.
    let out = tokenguard().arg("rules").output().unwrap();
    let stdout = lossy(&out.stdout);
    for p in known_example_parts() {
        assert!(stdout.contains(p), "{p} missing from `tokenguard rules`");
    }
}

#[test]
fn a_random_public_and_secret_part_is_still_found() {
    // The known parts are matched whole: a token sharing a few characters with them is real.
    let public = format!("{}{}", &known_example_parts()[0][..12], random_part(12));
    let t = format!("dt0c01.{public}.{}", random_part(64));
    finds_one(format!("DT_API_TOKEN={t}").as_bytes(), &t, API);
}

// ---------------------------------------------------------------------------------------
// Placeholders and templates read in public files: all quiet

#[test]
fn placeholders_from_public_docs_and_code_are_not_findings() {
    for line in [
        // Dynatrace's API docs and their translations.
        "-H 'Authorization: Api-Token dt0c01.abc123.abcdefjhij1234567890'",
        "--url 'https://mySampleEnv.live.dynatrace.com/api/v1/config/clusterversion?api-token=abcdefjhij1234567890' \\",
        "\"id\": \"dt0g02.4KWZO5EF\",",
        "--url https://mySampleEnv.live.dynatrace.com//api/v2/activeGateTokens/dt0g02.xyz789 \\",
        "curl https://myActiveGate:9999/e/myEnvironmentId/api/v1/certificate/cert.p12 -H \"Authorization: Api-Token 123abc\"",
        "OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Api-Token [YOUR_TOKEN]\"",
        // READMEs, tests and samples.
        "monkeypatch.setenv(\"DT_API_TOKEN\", \"dt0c01.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")",
        "dt_token=\"dt0c01.7EPH5T3R...\" # You want to populate with a token from the installation page",
        "   - ✅ Token format `dt0c01.XXXXXXXX.YYYYYYYY` - Standard string token",
        "| `OTEL_EXPORTER_OTLP_HEADERS` | — | OTLP auth headers (e.g., `Authorization=Api-Token dt0c01...`) |",
        " export DTAGENT_TOKEN=\"dt0c01.XXXXXXXX...\"",
        "      Authorization: \"Api-Token dt0c01.XXXX.YYYY\"",
        "export DT_API_TOKEN=\"dt0c01.your_token\"      # If using Dynatrace",
        "  headers: { Authorization: 'Api-Token dt0c01.<24-chars>.<64-chars>' }",
        "DT_API_TOKEN: dt0c01.<24-chars>.<64-chars>",
        "headers: { Authorization: `Api-Token ${process.env.DT_API_TOKEN}` }",
        "    const h = dtHeaders({ mode: 'api_token', environmentUrl: 'https://x', apiToken: 'dt0c01.ABC' });",
        "  apiToken: \"dt0s01.AAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\",",
        "  --client-secret dt0s01.YOUR_CLIENT_ID.YOUR_SECRET",
        "DT_CLIENT_SECRET=dt0s02.XXXXXXXXX.XXXXXXXX",
        "        \"OAUTH_CLIENT_SECRET\": \"dt0s02.ABC123.DEF456...\",",
        "    OAUTH_CLIENT_SECRET: 'dt0s02.SAMPLE.abcd1234',",
        "    DT_PLATFORM_TOKEN: 'dt0s16.SAMPLE.abcd1234',",
        "const CLASSIC_TOKEN = `dt0c01.PUBLICAPRUEBA0000000000A.${'SECRETOCLASICO'.padEnd(64, 'X')}`",
        "const CLIENT_SECRET = `dt0s02.CLIENTEPUBLICO00000000000.${'SECRETOOAUTH'.padEnd(64, 'X')}`",
        "\ttps := utils.GenerateSampleSecrets(\"dynatrace\", \"dt0c01.\"+secrets.NewSecretWithEntropy(`[A-Z0-9]{24}`, 4)+\".\"+secrets.NewSecretWithEntropy(`[A-Z0-9]{64}`, 4))",
        "\t\tRegex:       regexp.MustCompile(`dt0c01\\.(?i)[a-z0-9]{24}\\.[a-z0-9]{64}`),",
        "  --from-literal=apiToken=dt0c01.EXAMPLE_TOKEN_REPLACE_THE_ENTIRE_STRING \\",
        "\tvars := generateOtelPythonEnvVars(\"https://abc123.live.dynatrace.com\", \"dt0c01.TOKEN123\", \"svc\")",
        "\t\treturn \"Authorization=Api-Token%20<redacted>\"",
        "os.environ[\"TRACELOOP_HEADERS\"] = f\"Authorization=Api-Token%20accesstokenhere\" ",
        "  -Dotel.exporter.otlp.headers=\"Authorization=Api-Token%20${DT_API_TOKEN}\" \\",
        "ENV OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20<DYNATRACE TOKEN>",
        // The base64 of a placeholder (`dt0c01.abcdefghijklmnopqrstuvwxyz1234567890`).
        "  api-token: ZHQwYzAxLmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MTIzNDU2Nzg5MA==",
        // Kubernetes Secrets filled from the environment.
        "  apiToken: $(printf '%s' \"$DT_API_TOKEN\" | base64 | tr -d '\\n')",
        "  --from-literal=\"apiToken=dt0c01.YOUR_API_TOKEN\" \\",
        "  apiToken: <BASE64_ENCODED_API_TOKEN>",
        "sed -i \"s+apiToken: api.token.placeholder+apiToken: $DT_API_TOKEN+g\" dynakubecr.test.yaml",
        "  paasToken: \"PLATFORM_AS_A_SERVICE_TOKEN\"",
        "    --set secret.apiToken=${{ secrets.DYNATRACE_API_TOKEN }} \\",
        "  --set-secrets=\"DYNATRACE_API_URL=dynatrace-api-url:latest,DYNATRACE_API_TOKEN=dynatrace-api-token:latest\"",
        "            oneagent_paas_token: \"<your-paas-token>\" # Replace with a valid token if needed",
        "oneagent_paas_token: 'YOUR PAAS TOKEN HERE'",
        "  -e ONEAGENT_INSTALLER_DOWNLOAD_TOKEN=\"$ONEAGENT_PAAS_TOKEN\" \\",
        // Go and TypeScript code naming the token kinds.
        "\t\tdtclient.DynatraceDataIngestToken: dataIngestTokenConfig,",
        "\t\tNewSecret(dkName, namespace, map[string]string{utils.DynatracePaasToken: \"42\", utils.DynatraceApiToken: \"84\"}),",
        "    constructor(apiToken?: string, apiUrl?: string, paasToken?: string, namespace?: string) {",
        // Other vendors' `apiToken` values of other lengths; German and Swedish prose.
        "  \"apiToken\": \"xrgr4qjcxhZ3m5kn2Rc3DdN5qSnhS3cp\",",
        "                  \"apiToken\": \"secret-token-12345\",",
        "        mockFetch(401, { error: { code: \"bad_token\", message: \"API-Token unbekannt oder zurückgezogen.\" } });",
        "\t'edit:object:api_key' => \"Redigera API-token: %s\",",
        "    WiFiManagerParameter tokenParam(\"token\", \"API-Token (profil.php)\", previousToken.c_str(), 128);",
    ] {
        finds_nothing(line);
    }
}

// ---------------------------------------------------------------------------------------
// Contexts beyond the corpus

#[test]
fn jupyter_notebook_source_and_output() {
    let (t, l) = (token(), legacy_token());
    let nb = format!(
        r#"{{"cells": [{{"cell_type": "code", "source": ["import os\n", "os.environ[\"DT_API_TOKEN\"] = \"{t}\"\n"], "outputs": []}}]}}"#
    );
    finds_one(nb.as_bytes(), &t, API);
    let nb = format!(
        r#"{{"cell_type": "code", "source": ["DT_API_TOKEN = \"{l}\"\n", "print(DT_API_TOKEN)"], "outputs": [{{"name": "stdout", "output_type": "stream", "text": ["x\n"]}}]}}"#
    );
    finds_one(nb.as_bytes(), &l, LEGACY);
}

#[test]
fn postman_collection_and_environment() {
    let (t, l) = (token(), legacy_token());
    let header = format!(
        r#"{{"header": [{{"key": "Authorization", "value": "Api-Token {l}", "type": "text"}}], "url": {{"raw": "{{{{baseUrl}}}}/api/v2/metrics"}}}}"#
    );
    finds_one(header.as_bytes(), &l, LEGACY);
    let env = format!(
        r#"{{"values": [{{"key": "apiToken", "value": "{t}", "type": "secret", "enabled": true}}]}}"#
    );
    finds_one(env.as_bytes(), &t, API);
    // A Postman variable reference is not a token.
    finds_nothing(r#"{"key": "Authorization", "value": "Api-Token {{dtApiToken}}"}"#);
}

#[test]
fn har_capture_headers_and_query_strings() {
    let (t, l) = (token(), legacy_token());
    let har = format!(
        r#"{{"request": {{"method": "GET", "url": "https://abc12345.live.dynatrace.com/api/v1/config/clusterversion?Api-Token={l}", "headers": [{{"name": "Authorization", "value": "Api-Token {t}"}}], "queryString": [{{"name": "Api-Token", "value": "{l}"}}]}}}}"#
    );
    let found = find(har.as_bytes());
    let prints: Vec<_> = found.iter().map(|f| f.fingerprint.clone()).collect();
    assert!(prints.contains(&fingerprint(t.as_bytes())), "{found:?}");
    assert!(prints.contains(&fingerprint(l.as_bytes())), "{found:?}");
    // A form-encoded body: `%2E` dots inside a URL-encoded value.
    let body = format!(r#"{{"postData": {{"text": "token={}"}}}}"#, t.replace('.', "%2E"));
    finds_one(body.as_bytes(), &t, API);
}

#[test]
fn terraform_state_json() {
    let (t, l) = (token(), legacy_token());
    let state = format!(
        "{{\n  \"resources\": [{{\n    \"type\": \"kubernetes_secret\",\n    \"instances\": [{{\"attributes\": {{\"data\": {{\"apiToken\": \"{t}\"}}, \"binary_data\": null}}}}]\n  }}]\n}}\n"
    );
    finds_one(state.as_bytes(), &t, API);
    let state = format!(
        "      \"attributes\": {{\"dt_api_token\": \"{l}\", \"dt_env_url\": \"https://x\"}}"
    );
    finds_one(state.as_bytes(), &l, LEGACY);
}

#[test]
fn shell_history_bash_and_zsh() {
    let (t, l) = (token(), legacy_token());
    let bash = format!(
        "ls\nexport DT_API_TOKEN={t}\ncurl -H \"Authorization: Api-Token {l}\" https://abc12345.live.dynatrace.com/api/v2/entities\n"
    );
    assert_eq!(find(bash.as_bytes()).len(), 2);
    let zsh =
        format!(": 1700000000:0;export DYNATRACE_API_TOKEN={l}\n: 1700000005:0;kubectl get pods\n");
    finds_one(zsh.as_bytes(), &l, LEGACY);
}

#[test]
fn csv_and_sql() {
    let (t, l) = (token(), legacy_token());
    finds_one(format!("env,token,owner\nprod,{t},ops\n").as_bytes(), &t, API);
    finds_one(format!("name,value\nDT_API_TOKEN,{l}\n").as_bytes(), &l, LEGACY);
    finds_one(
        format!("INSERT INTO tokens (name, value) VALUES ('prod', '{t}');").as_bytes(),
        &t,
        API,
    );
    finds_one(
        format!("INSERT INTO settings (key, value) VALUES ('dt_api_token', '{l}');").as_bytes(),
        &l,
        LEGACY,
    );
    finds_nothing("INSERT INTO settings (key, value) VALUES ('dt_api_token', :token);");
}

#[test]
fn yaml_anchor_tag_and_typographic_quotes() {
    let (t, l) = (token(), legacy_token());
    finds_one(format!("defaults:\n  apiToken: &tok {l}\n  other: *tok\n").as_bytes(), &l, LEGACY);
    finds_one(format!("paasToken: !!str {l}\n").as_bytes(), &l, LEGACY);
    finds_one(format!("defaults:\n  apiToken: &tok {t}\n").as_bytes(), &t, API);
    for (open, close) in [
        ("\u{201C}", "\u{201D}"),
        ("\u{2018}", "\u{2019}"),
        ("\u{201E}", "\u{201C}"),
        ("\u{AB}", "\u{BB}"),
    ] {
        finds_one(format!("Set apiToken: {open}{l}{close} in the config.").as_bytes(), &l, LEGACY);
        finds_one(format!("Set {open}apiToken{close}: {open}{l}{close}").as_bytes(), &l, LEGACY);
        finds_one(format!("Authorization: {open}Api-Token {t}{close}").as_bytes(), &t, API);
    }
    // An alias or a Home Assistant-style `!secret` reference is not a value.
    finds_nothing("apiToken: *dynatraceApiToken1");
    finds_nothing("api_token: !secret dynatrace_api_token");
}

#[test]
fn byte_order_mark_and_crlf() {
    let (t, l) = (token(), legacy_token());
    finds_one(format!("\u{FEFF}{t}\r\n").as_bytes(), &t, API);
    finds_one(format!("\u{FEFF}DT_API_TOKEN={l}\r\nX=1\r\n").as_bytes(), &l, LEGACY);
}

#[test]
fn utf16_text_in_both_byte_orders() {
    let t = token();
    for text in [
        utf16le(&format!("\u{FEFF}$env:DT_API_TOKEN = \"{t}\"\r\n")),
        utf16be(&format!("\u{FEFF}token={t}\n")),
        utf16le(&t),
    ] {
        let f = finds_one(&text, &t, API);
        // The match covers the UTF-16 bytes; masking keeps the text valid UTF-16 of the
        // same length, without the secret.
        assert_eq!(f.span.len(), 2 * t.len() - 1);
        let masked = tokenguard::mask::mask(&text, std::slice::from_ref(&f.secret));
        assert_eq!(masked.len(), text.len());
        let secret16 = utf16le(secret_of(&t));
        assert!(!masked.windows(secret16.len()).any(|w| w == secret16));
        assert!(!masked.windows(secret16.len()).any(|w| w == utf16be(secret_of(&t))));
    }
    // A token inside a longer run of letters is not one, in UTF-16 as in ASCII.
    assert!(find(&utf16le(&format!("x{t}"))).is_empty());
    assert!(find(&utf16le(&format!("{t}X"))).is_empty());
    // Placeholders stay quiet.
    assert!(find(&utf16le("dt0c01.XXXXXXXXXXXXXXXXXXXXXXXX.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX")).is_empty());
    assert!(find(&utf16le(known_examples()[0])).is_empty());
}

#[test]
fn utf16_file_scanned_by_the_binary_never_prints_the_secret() {
    let t = token();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.ps1");
    std::fs::write(&path, utf16le(&format!("\u{FEFF}$env:DT_API_TOKEN = \"{t}\"\r\n"))).unwrap();
    let out = tokenguard().args(["scan", "--format", "json"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert_eq!(doc["findings"][0]["token_id"], t[..31]);
    let all = format!("{}{}", lossy(&out.stdout), lossy(&out.stderr));
    assert!(!all.contains(secret_of(&t)));
    let out = tokenguard().arg("mask").arg(&path).output().unwrap();
    assert_eq!(out.stdout.len(), std::fs::metadata(&path).unwrap().len() as usize);
    let secret16 = utf16le(secret_of(&t));
    assert!(!out.stdout.windows(secret16.len()).any(|w| w == secret16));
}

#[test]
fn powershell_encoded_command_base64_of_utf16() {
    let t = token();
    for pad in ["", "a", "ab"] {
        let script =
            format!("{pad}$h=@{{Authorization='Api-Token {t}'}}; Invoke-RestMethod -Headers $h");
        let line = format!("powershell -NoProfile -EncodedCommand {}", b64(utf16le(&script)));
        let f = finds_one(line.as_bytes(), &t, API);
        assert!(f.span.start > "powershell -NoProfile -EncodedCommand ".len() - 1);
    }
}

#[test]
fn double_url_encoding_and_html_character_references() {
    let (t, l) = (token(), legacy_token());
    let dots = |sep: &str| t.replace('.', sep);
    finds_one(format!("url=https://x/?h=Authorization%3DApi-Token%2520{t}").as_bytes(), &t, API);
    finds_one(format!("x=Api-Token%2520{}", dots("%252E")).as_bytes(), &t, API);
    finds_one(format!("x=Api-Token%2520{}", dots("%252e")).as_bytes(), &t, API);
    finds_one(format!("<code>{}</code>", dots("&#46;")).as_bytes(), &t, API);
    finds_one(format!("<code>{}</code>", dots("&#x2E;")).as_bytes(), &t, API);
    finds_one(format!("<pre>Api-Token&#32;{t}</pre>").as_bytes(), &t, API);
    finds_one(
        format!("OTEL_EXPORTER_OTLP_HEADERS=Authorization%3DApi-Token%2520{l}").as_bytes(),
        &l,
        LEGACY,
    );
    // Mixed separators are not a token; a digit run before the prefix is no boundary.
    finds_nothing(&format!("x={}", t.replacen('.', "%252E", 1)));
    finds_nothing(&format!("x=1252{t}"));
}

#[test]
fn oneagent_installer_download_token_is_a_dynatrace_key() {
    let l = legacy_token();
    finds_one(
        format!("docker run -e ONEAGENT_INSTALLER_DOWNLOAD_TOKEN={l} dynatrace/oneagent")
            .as_bytes(),
        &l,
        LEGACY,
    );
}

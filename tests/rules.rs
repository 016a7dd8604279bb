//! Rules are data: `tokenguard rules` lists them by provider, `tokenguard rules check [FILE]`
//! proves them against their examples, custom rules use the built-in schema (structured,
//! keyed, regex) and get the same decoders, and `[scan] disable` takes provider names.
//! Every test that reads output checks first that no secret is in it.

mod common;

use std::process::Output;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{secret_of, token, tokenguard, Rng, TestRepo};

fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Asserts that none of `secrets` is in the output (without printing it).
#[track_caller]
fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let text = all_output(out);
    for (i, s) in secrets.iter().enumerate() {
        assert!(!text.contains(s), "secret {i} reached the output");
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

// ---------------------------------------------------------------------------------------
// tokenguard rules check

#[test]
fn rules_check_proves_every_builtin_rule() {
    let out = tokenguard().args(["rules", "check"]).output().unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let rules = tokenguard::rules::builtin().len();
    assert!(text.contains(&format!("built-in rules: {rules} rules")), "{text}");
    assert!(text.contains("all pass"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
}

/// A rules file with one good rule and one whose example is wrong, whose negative example is
/// a token, and whose known example is found.
fn rules_file(good_secret: &str, bad_secret: &str) -> String {
    format!(
        r#"
[[rules]]
id = "acme-key"
provider = "acme"
description = "ACME API key"
severity = "medium"
examples = [
    {{ text = "ACME_KEY=acme_{good_secret}", token = "acme_{good_secret}", id = "" }},
    "key: {b64}",
]
negatives = ["acme_short", "acme_{{{{ .Values.key }}}}"]
[rules.structured]
prefixes = ["acme_"]
parts = [{{ alphabet = "A-Za-z0-9", lengths = [32] }}]

[[rules]]
id = "zeta-token"
regex = 'zeta-(?P<secret>[A-Z0-9]{{24}})'
keywords = ["zeta-"]
examples = ["ZETA=zeta-{bad_lower}"]
negatives = ["t = zeta-{bad_secret}"]
known_examples = ["zeta-{known}"]
"#,
        bad_lower = bad_secret.to_lowercase(),
        known = "Z".repeat(24),
        b64 = STANDARD.encode(format!("acme_{good_secret}"))
    )
}

#[test]
fn rules_check_names_the_rule_and_the_example_that_fail() {
    let mut rng = Rng::new();
    let (good, bad) = (rng.chars(ALNUM, 32), rng.chars(UPPER, 24));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, rules_file(&good, &bad)).unwrap();
    let out = tokenguard().args(["rules", "check"]).arg(&file).output().unwrap();
    assert_no_secret(&out, &[&good, &bad]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The good rule passes (its plain and base64 examples, its negatives).
    assert!(!text.contains("FAIL acme-key"), "{text}");
    // The bad one fails twice, each named: an example not found, a negative found.
    assert!(text.contains("FAIL zeta-token: example 1: not found"), "{text}");
    assert!(text.contains("FAIL zeta-token: negative 1: found, though it must not be"), "{text}");
    assert!(text.contains("2 rules, 3 examples, 3 negative examples, 1 known examples: 2 failures"));
    // The texts are shown masked: the example's token-like run cut after 4 characters, the
    // negative's secret masked.
    assert!(text.contains(&format!("ZETA=zeta{}\n", "*".repeat(25))), "{text}");
    assert!(text.contains("t = zeta-************************"), "{text}");
}

#[test]
fn rules_check_finds_a_wrong_place_and_a_wrong_identifier() {
    let secret = Rng::new().chars(ALNUM, 32);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    let rules = format!(
        "[[rules]]\nid = 'acme-key'\nexamples = [{{ text = 'k: acme_{secret}', token = 'k: acme_{secret}', id = 'acme_x' }}]\n\
         [rules.structured]\nprefixes = ['acme_']\nparts = [{{ alphabet = 'A-Za-z0-9', lengths = [32] }}]\n"
    );
    std::fs::write(&file, rules).unwrap();
    let out = tokenguard().args(["rules", "check"]).arg(&file).output().unwrap();
    assert_no_secret(&out, &[&secret]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL acme-key: example 1: found at bytes 3..40, not where `token` stands"),
        "{text}"
    );
    assert!(
        text.contains("FAIL acme-key: example 1: shows \"\" as identifier, not \"acme_x\""),
        "{text}"
    );
}

#[test]
fn rules_check_refuses_an_invalid_file_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    for (text, line, key) in [
        ("[[rules]]\nid = 'a'\n[rules.structured]\nprefixes = ['abc_']\nparts = [{ alphabet = 'z-a', lengths = [3] }]\n", "line 3", "rules[0].structured.parts[0].alphabet"),
        ("[[rules]]\nid = 'a'\nregex = 'x'\nseverity = 'urgent'\n", "line 4", "severity"),
        ("[[rules]]\nid = 'a'\n", "line 1", "without `regex`"),
        ("[allow]\npaths = ['x']\n", "", "no `[[rules]]` to check"),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = tokenguard().args(["rules", "check"]).arg(&file).output().unwrap();
        let err = all_output(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(line) && err.contains(key), "{text}: {err}");
    }
    let out = tokenguard().args(["rules", "check", "no-such-file.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------
// tokenguard rules

#[test]
fn rules_are_listed_by_provider() {
    let out = tokenguard().arg("rules").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    let rules = tokenguard::rules::builtin();
    let dynatrace = rules.iter().filter(|r| r.provider == "dynatrace").count();
    assert!(text.contains(&format!("\ndynatrace ({dynatrace} rules):\n")), "{text}");
    // Providers in name order, each heading once.
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with(" rules):") || l.ends_with(" rule):"))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = headings.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(headings, sorted);
    assert!(headings.len() >= 20, "{headings:?}");
    for r in &rules {
        let line = text
            .lines()
            .find(|l| l.starts_with("  ") && l.trim_start().starts_with(&format!("{} ", r.id)))
            .unwrap();
        assert!(line.contains(r.severity.as_str()), "{line}");
    }
    let out = tokenguard().args(["rules", "--format", "json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let providers = doc["providers"].as_array().unwrap();
    assert!(providers.len() >= 20 && providers.contains(&serde_json::json!("dynatrace")));
    let api = doc["rules"].as_array().unwrap().iter().find(|r| r["id"] == "dynatrace-api-token");
    let api = api.unwrap();
    assert_eq!(api["provider"], "dynatrace");
    assert_eq!(api["severity"], "high");
    assert_eq!(api["kind"], "structured");
    assert!(api["remediation"].as_str().unwrap().contains("Revoke"));
}

// ---------------------------------------------------------------------------------------
// Custom rules: the same schema, the same decoders

#[test]
fn a_provider_name_in_disable_turns_off_all_its_rules() {
    let repo = TestRepo::new();
    let t = token();
    let acme = format!("ACME_{}", Rng::new().chars(UPPER, 20));
    repo.write("a.env", format!("T={t}\nK={acme}\n"));
    repo.write(
        ".tokenguard.toml",
        "[scan]\ndisable = [\"dynatrace\"]\n\n[[rules]]\nid = 'acme-key'\nregex = 'ACME_[A-Z0-9]{20}'\nkeywords = ['ACME_']\n",
    );
    let out = repo.tokenguard().args(["scan", "a.env", "--format", "json"]).output().unwrap();
    assert_no_secret(&out, &[secret_of(&t), &acme]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> =
        v["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["acme-key"]);
    // A custom rule's provider is `custom`.
    repo.write(
        ".tokenguard.toml",
        "[scan]\ndisable = [\"dynatrace\", \"custom\"]\n\n[[rules]]\nid = 'acme-key'\nregex = 'ACME_[A-Z0-9]{20}'\n",
    );
    let out = repo.tokenguard().args(["scan", "a.env"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn custom_regex_rules_get_the_decoders() {
    let repo = TestRepo::new();
    repo.write(
        ".tokenguard.toml",
        "[[rules]]\nid = 'acme-key'\nregex = 'ACME_(?P<secret>[A-Z0-9]{20})'\nkeywords = ['ACME_']\n",
    );
    let secret = Rng::new().chars(UPPER, 20);
    let plain = format!("acme_key=ACME_{secret}\n");
    // base64 (at each alignment), base64 in base64, UTF-16, UTF-16 in base64.
    let mut files = vec![("plain.env", plain.clone().into_bytes())];
    for pad in ["", "a", "ab"] {
        files.push((
            "b64.yaml",
            format!("data: {}\n", STANDARD.encode(format!("{pad}{plain}"))).into_bytes(),
        ));
    }
    files.push((
        "nested.json",
        format!("{{\"auth\":\"{}\"}}\n", STANDARD.encode(STANDARD.encode(&plain))).into_bytes(),
    ));
    files.push(("utf16.ps1", utf16le(&plain)));
    files.push((
        "enc.ps1",
        format!("powershell -EncodedCommand {}\n", STANDARD.encode(utf16le(&plain))).into_bytes(),
    ));
    for (name, bytes) in files {
        std::fs::write(repo.path().join(name), &bytes).unwrap();
        let out = repo.tokenguard().args(["scan", name, "--format", "json"]).output().unwrap();
        assert_no_secret(&out, &[&secret]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", all_output(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{name}: {v}");
        assert_eq!(v["findings"][0]["rule"], "acme-key", "{name}");
    }
}

#[test]
fn custom_structured_and_keyed_rules_from_the_configuration() {
    let repo = TestRepo::new();
    repo.write(
        ".tokenguard.toml",
        r#"
[[rules]]
id = "acme-key"
description = "ACME key"
severity = "low"
keywords = ["acme"]
[rules.structured]
prefixes = ["acme"]
separator = "-"
parts = [
    { alphabet = "A-Z0-9", lengths = [8], role = "id" },
    { alphabet = "A-Za-z0-9", lengths = [32] },
]

[[rules]]
id = "zeta-secret"
keywords = ["zeta_secret", "ZETA_SECRET"]
[rules.keyed]
key = 'zeta_secret'
value = { alphabet = "a-f0-9", lengths = [40], shape = "none" }
"#,
    );
    let mut rng = Rng::new();
    let (id, secret) = (rng.chars(UPPER, 8), rng.chars(ALNUM, 32));
    let acme = format!("acme-{id}-{secret}");
    let zeta = rng.chars(b"0123456789abcdef", 40);
    repo.write(
        "a.cfg",
        format!(
            "url = https://x/?k=acme%2D{id}%2D{secret}\nZETA_SECRET=\"{zeta}\"\nenc: {}\nzeta_secret: {}\n",
            STANDARD.encode(&acme),
            "0".repeat(40)
        ),
    );
    let out = repo.tokenguard().args(["scan", "a.cfg", "--format", "json"]).output().unwrap();
    assert_no_secret(&out, &[&secret, &zeta]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(u64, &str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap(),
                f["masked"].as_str().unwrap(),
            )
        })
        .collect();
    let shown = format!("acme-{id}-****************");
    // URL-encoded separators, a keyed value, base64; the all-zero value has the right shape
    // for its rule (shape "none") and is found too.
    assert_eq!(
        found,
        [
            (1, "acme-key", shown.as_str()),
            (2, "zeta-secret", "****************************************"),
            (3, "acme-key", shown.as_str()),
            (4, "zeta-secret", "****************************************"),
        ],
        "{v}"
    );
}

#[test]
fn tokens_are_handed_out_only_when_asked_for_and_never_printed() {
    let t = token();
    let m = tokenguard::matcher::Matcher::builtin();
    let text = format!("apiToken: {}\nplain: {t}\n", STANDARD.encode(&t));
    let found = m.find_with_tokens(text.as_bytes());
    assert_eq!(found.len(), 2);
    for (hit, secret) in &found {
        // The base64 one gives the decoded token.
        assert_eq!(secret.expose(), t.as_bytes());
        assert_eq!(secret.secret_part(), secret_of(&t).as_bytes());
        assert_eq!(secret.len(), t.len());
        let shown = format!("{secret:?} {hit:?} {found:?}");
        assert!(!shown.contains(secret_of(&t)), "a token's bytes were printed");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
    let legacy = common::legacy_token();
    let keyed = m.find_with_tokens(format!("DT_API_TOKEN={legacy}").as_bytes());
    assert_eq!(keyed.len(), 1);
    assert_eq!(keyed[0].1.expose_str(), Some(legacy.as_str()));
    assert_eq!(keyed[0].1.secret_part(), legacy.as_bytes());
    assert_eq!(found.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>(), m.find(text.as_bytes()));
}

/// Every built-in rule's live check (`[rules.verify]`) parses: one that did not would never run.
#[test]
fn every_built_in_check_parses() {
    let mut checks = 0;
    for rule in tokenguard::rules::builtin() {
        if let Some(table) = &rule.verify {
            tokenguard::verify::CheckSpec::from_table(table)
                .unwrap_or_else(|why| panic!("{}: [rules.verify]: {why}", rule.id));
            checks += 1;
        }
    }
    assert!(checks >= 1, "the Dynatrace access token rule carries its check");
}

/// A custom rule whose check does not parse is a configuration error naming the rule's table.
#[test]
fn a_custom_check_that_does_not_parse_is_refused() {
    let text =
        "[[rules]]\nid = \"acme\"\nregex = 'ACME_[A-Z]{8}'\n[rules.verify]\nkind = \"nope\"\n";
    let e = tokenguard::config::Config::parse(text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("rules[0].verify"), "{e}");
}

/// Every built-in keyed rule's pattern and regex rule's regex compiles (they are compiled on
/// first use, not when the rules are loaded).
#[test]
fn every_built_in_keyed_pattern_compiles() {
    let (mut keyed, mut regex) = (0, 0);
    for rule in tokenguard::rules::builtin() {
        match &rule.detector {
            tokenguard::rules::Detector::Keyed(k) => {
                let _ = k.pattern.get();
                keyed += 1;
            }
            tokenguard::rules::Detector::Regex(r) => {
                let _ = r.get();
                regex += 1;
            }
            _ => {}
        }
    }
    assert!(keyed >= 1, "the older Dynatrace format is a keyed rule");
    assert!(regex >= 20, "the other providers' rules are mostly regex rules");
}

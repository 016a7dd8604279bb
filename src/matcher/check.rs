//! `tokenguard rules check`: proves rules against their own data. Every example must give
//! exactly one finding, of its rule (where the example says, showing the identifier it says,
//! never its secret); no negative example may give a finding of the rule; no known public
//! example may give a finding at all. Failures are values whose texts are masked.

use super::{Match, Matcher};

/// One thing a rule got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The rule's id.
    pub rule: String,
    /// Which of its data: `example 2`, `negative 1`, `known example 1`, `examples`.
    pub case: String,
    /// What went wrong.
    pub problem: String,
    /// The input, masked (empty when there is none).
    pub text: String,
}

/// What a check covered, and what failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Rules checked.
    pub rules: usize,
    /// Examples tried.
    pub examples: usize,
    /// Negative examples tried.
    pub negatives: usize,
    /// Known public examples tried.
    pub known: usize,
    /// Failures, in rule order.
    pub failures: Vec<Failure>,
}

/// Checks the rules of `matcher` at `indices` (a matcher with no rule disabled: the check is
/// about the rules, not a configuration).
pub fn check(matcher: &Matcher, indices: impl IntoIterator<Item = usize>) -> Report {
    let mut report = Report::default();
    let rules = matcher.rules();
    for i in indices {
        let rule = &rules[i];
        report.rules += 1;
        let mut fail = |case: String, problem: String, text: String| {
            report.failures.push(Failure { rule: rule.id.clone(), case, problem, text });
        };
        if rule.examples.is_empty() {
            fail(
                "examples".into(),
                "no example to prove the rule (add `examples = [...]`)".into(),
                String::new(),
            );
        }
        for (n, ex) in rule.examples.iter().enumerate() {
            let case = format!("example {}", n + 1);
            let text = ex.text.as_bytes();
            let found = matcher.find(text);
            let shown = masked(&ex.text, &found);
            let mine: Vec<&Match> = found.iter().filter(|m| m.rule == i).collect();
            let [m] = mine[..] else {
                let problem = if mine.len() > 1 {
                    format!("found {} times, not once", mine.len())
                } else if found.is_empty() {
                    "not found".into()
                } else {
                    format!("not found by this rule, but by {}", names(matcher, &found))
                };
                fail(case, problem, shown);
                continue;
            };
            if found.len() > 1 {
                let problem =
                    format!("found with other tokens ({}), not alone", names(matcher, &found));
                fail(case, problem, shown);
                continue;
            }
            let inside = m.span.end <= text.len()
                && m.secret.start >= m.span.start
                && m.secret.end <= m.span.end
                && !m.secret.is_empty();
            if !inside {
                fail(case, "the finding's secret is not inside its span".into(), shown);
                continue;
            }
            if let Some(token) = &ex.token {
                if &text[m.span.clone()] != token.as_bytes() {
                    let problem = format!(
                        "found at bytes {}..{}, not where `token` stands",
                        m.span.start, m.span.end
                    );
                    fail(case.clone(), problem, shown.clone());
                }
            }
            if let Some(id) = &ex.id {
                let got = m.token_id.as_deref().unwrap_or_default();
                if got != id {
                    let problem = if id.is_empty() {
                        format!("shows the identifier {:?}, not none", redact(got))
                    } else {
                        format!("shows {:?} as identifier, not {:?}", redact(got), redact(id))
                    };
                    fail(case.clone(), problem, shown.clone());
                }
            }
            // What is shown must not hold the secret (as written in a plain example).
            let secret = &text[m.secret.clone()];
            let leaks = |s: &str| {
                secret.len() >= 4 && s.as_bytes().windows(secret.len()).any(|w| w == secret)
            };
            if leaks(&m.masked) || m.token_id.as_deref().is_some_and(leaks) {
                fail(case, "the masked form shows the secret".into(), shown);
            }
        }
        for (n, neg) in rule.negatives.iter().enumerate() {
            report.negatives += 1;
            let found = matcher.find(neg.as_bytes());
            if found.iter().any(|m| m.rule == i) {
                fail(
                    format!("negative {}", n + 1),
                    "found, though it must not be".into(),
                    masked(neg, &found),
                );
            }
        }
        for (n, known) in rule.known_examples.iter().enumerate() {
            report.known += 1;
            let found = matcher.find(known.as_bytes());
            if !found.is_empty() {
                fail(
                    format!("known example {}", n + 1),
                    format!("found by {}, though known examples never are", names(matcher, &found)),
                    masked(known, &found),
                );
            }
        }
        report.examples += rule.examples.len();
    }
    report
}

/// The ids of the rules of `found`, each once.
fn names(matcher: &Matcher, found: &[Match]) -> String {
    let mut ids: Vec<&str> = Vec::new();
    for m in found {
        let id = matcher.rules()[m.rule].id.as_str();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.join(", ")
}

/// `text` with the secret of every finding replaced by `*`, then [`redact`]ed.
fn masked(text: &str, found: &[Match]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in found {
        for b in bytes.get_mut(m.secret.clone()).into_iter().flatten() {
            *b = b'*';
        }
    }
    redact(&String::from_utf8_lossy(&bytes))
}

/// `text` with every run of token-like characters that may be a secret cut to its first 4
/// characters and `*` (runs of 16 or more, or of 8 or more with a letter and a digit), and
/// shortened to 160 characters: an example that is not found is never printed whole.
pub fn redact(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "+/_-".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|&&c| token_char(c)).count();
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let word = &chars[i..i + run];
        let mixed =
            word.iter().any(char::is_ascii_digit) && word.iter().any(char::is_ascii_alphabetic);
        if run >= 16 || (run >= 8 && mixed) {
            out.extend(&word[..4]);
            out.extend(std::iter::repeat_n('*', run - 4));
        } else {
            out.extend(word);
        }
        i += run;
    }
    if out.chars().count() > 160 {
        out = out.chars().take(157).collect::<String>() + "...";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Example;

    #[test]
    fn every_builtin_rule_proves_its_examples_and_negatives() {
        let matcher = Matcher::builtin();
        let report = check(&matcher, 0..matcher.rules().len());
        assert_eq!(report.rules, matcher.rules().len());
        assert!(report.examples >= report.rules && report.negatives >= report.rules);
        assert_eq!(report.failures, []);
        // Each example alone gives exactly one finding, of its own rule.
        for (i, rule) in matcher.rules().iter().enumerate() {
            for ex in &rule.examples {
                let found = matcher.find(ex.text.as_bytes());
                assert_eq!(found.len(), 1, "{}: {}", rule.id, redact(&ex.text));
                assert_eq!(found[0].rule, i, "{}: {}", rule.id, redact(&ex.text));
            }
        }
    }

    #[test]
    fn known_examples_are_never_findings() {
        let matcher = Matcher::builtin();
        for k in crate::rules::known_examples() {
            assert!(matcher.find(format!("token={k}").as_bytes()).is_empty(), "{k}");
        }
    }

    #[test]
    fn a_wrong_example_fails_with_a_masked_text() {
        let mut rules = crate::rules::builtin();
        let api = rules.iter().position(|r| r.id == "dynatrace-api-token").unwrap();
        let good = rules[api].examples[0].clone();
        let secret = good.token.as_deref().unwrap().rsplit('.').next().unwrap().to_string();
        rules[api].examples = vec![
            // Cut short: not found.
            Example { text: good.text[..good.text.len() - 1].into(), token: None, id: None },
            // Found, but the example says another place and another identifier.
            Example { token: Some("DT_API_TOKEN".into()), id: Some("dt0c01.X".into()), ..good },
        ];
        let negative = format!("x = {}", rules[api].examples[1].text);
        rules[api].negatives.push(negative);
        let matcher = Matcher::new(rules, &[]);
        let report = check(&matcher, [api]);
        let problems: Vec<(&str, &str)> =
            report.failures.iter().map(|f| (f.case.as_str(), f.problem.as_str())).collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert_eq!(problems[0], ("example 1", "not found"));
        assert!(problems[1].1.contains("not where `token` stands"), "{problems:?}");
        assert!(problems[2].1.contains("as identifier"), "{problems:?}");
        assert!(problems[3].0.starts_with("negative"), "{problems:?}");
        for f in &report.failures {
            assert!(!f.text.contains(&secret[..20]) && !f.problem.contains(&secret[..20]));
            assert!(f.rule == "dynatrace-api-token");
        }
    }

    #[test]
    fn the_builtin_matcher_looks_for_the_keywords_and_their_encoded_forms() {
        let dynatrace = || -> Vec<crate::rules::Rule> {
            crate::rules::builtin().into_iter().filter(|r| r.provider == "dynatrace").collect()
        };
        let m = Matcher::new(dynatrace(), &[]);
        let kw: Vec<&[u8]> = m.keywords().collect();
        assert_eq!(kw, [&b"dt0"[..], b"token", b"Token", b"TOKEN"]);
        let sigs: Vec<&str> = m.encoded_signatures().iter().map(|(s, _)| s.as_str()).collect();
        // dt0 in base64 at the three alignments, in base64 inside base64, in UTF-16 in base64.
        for s in ["ZHQw", "R0M", "kdD", "WkhRd", "ZAB0ADAA"] {
            assert!(sigs.contains(&s), "{s}");
        }
        // The older format's keywords are not looked for in base64 (its `decode` says so).
        assert!(!sigs.iter().any(|s| s.starts_with("dG9r")), "{sigs:?}");
        let off = Matcher::new(dynatrace(), &["dynatrace-legacy-token".into()]);
        assert_eq!(off.keywords().collect::<Vec<_>>(), [&b"dt0"[..]]);
        let none = Matcher::new(dynatrace(), &["dynatrace".into()]);
        assert_eq!(none.keywords().count(), 0);
        assert!(none.encoded_signatures().is_empty());
    }

    #[test]
    fn every_providers_keywords_are_looked_for_and_only_base64_ones_in_base64() {
        let m = Matcher::builtin();
        // The other providers' rules are regex rules, or keyed rules on the keywords already
        // searched (Atlassian's older tokens after a key ending in `token`): the SIMD prefilter
        // of structured and keyed keywords stays Dynatrace's (docs/rules.md, Speed). (In the
        // order of the rules' files.)
        let mut kw: Vec<&[u8]> = m.keywords().collect();
        kw.sort();
        assert_eq!(kw, [&b"TOKEN"[..], b"Token", b"dt0", b"token"]);
        let b64: Vec<&[u8]> = m.base64_keywords().collect();
        assert_eq!(b64, [&b"dt0"[..]]);
        let sigs: Vec<&str> = m.encoded_signatures().iter().map(|(s, _)| s.as_str()).collect();
        // Regex rules' keywords too: `ghp_` in base64 at its first alignment.
        assert!(sigs.contains(&"Z2hwX"), "{sigs:?}");
        let no_github = Matcher::new(crate::rules::builtin(), &["github".into()]);
        assert!(!no_github.encoded_signatures().iter().any(|(s, _)| s == "Z2hwX"));
    }

    #[test]
    fn redaction_cuts_token_like_runs() {
        assert_eq!(redact("key = ABCD1234EFGH"), "key = ABCD********");
        assert_eq!(redact("a plain sentence, short words"), "a plain sentence, short words");
        assert!(redact(&"x".repeat(400)).ends_with("..."));
    }
}

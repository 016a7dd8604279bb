//! Rules are data: what a token looks like, which keywords announce it, and the examples and
//! negative examples that a test checks for every rule.

mod dynatrace;

pub use dynatrace::{KNOWN_EXAMPLES, KNOWN_EXAMPLE_PARTS};

/// How a rule recognises its tokens.
#[derive(Debug, Clone)]
pub enum Detector {
    /// Structured tokens `prefix.public.secret`: a `dt0` prefix (`dt0` + letter + two digits),
    /// a public part of `[A-Z0-9]` with one of `public_lens`, and a 64-character secret part.
    /// `prefixes` lists the six-character prefixes the rule claims; an empty list claims every
    /// prefix that no other structured rule claims.
    Structured { prefixes: &'static [&'static str], public_lens: &'static [usize] },
    /// The older 21-character format, recognised only in context (an `Api-Token` header, an
    /// `api-token=` parameter, or a Dynatrace-named key).
    Legacy,
    /// A user-defined regular expression (from the configuration). The whole match is the
    /// secret unless the regex has a group named `secret`.
    Custom(regex::bytes::Regex),
}

/// One detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable identifier, used in reports and in the configuration (`[scan] disable`).
    pub id: String,
    /// One line saying what the rule finds.
    pub description: String,
    /// How the rule recognises a token.
    pub detector: Detector,
    /// Texts of which at least one stands in or near every match (prefilter); matched without
    /// regard to ASCII case. Empty: the rule runs over every input.
    pub keywords: Vec<String>,
    /// Inputs that must produce exactly one finding of this rule.
    pub examples: Vec<String>,
    /// Inputs that must produce no finding of this rule.
    pub negatives: Vec<String>,
}

/// The length of the secret part of every structured Dynatrace token.
pub const SECRET_LEN: usize = 64;

/// The built-in rules, in the order in which they claim structured prefixes.
pub fn builtin() -> Vec<Rule> {
    dynatrace::rules()
}

#[cfg(test)]
mod tests {
    use crate::matcher::Matcher;

    #[test]
    fn every_rule_finds_its_examples_and_only_them() {
        let matcher = Matcher::builtin();
        for (i, rule) in matcher.rules().iter().enumerate() {
            assert!(!rule.examples.is_empty(), "{} has no example", rule.id);
            assert!(!rule.negatives.is_empty(), "{} has no negative example", rule.id);
            for ex in &rule.examples {
                let found = matcher.find(ex.as_bytes());
                assert_eq!(found.len(), 1, "{}: {ex:?} gave {found:?}", rule.id);
                assert_eq!(
                    found[0].rule,
                    i,
                    "{}: {ex:?} went to {}",
                    rule.id,
                    matcher.rules()[found[0].rule].id
                );
            }
            for neg in &rule.negatives {
                let found = matcher.find(neg.as_bytes());
                assert!(found.is_empty(), "{}: negative {neg:?} gave {found:?}", rule.id);
            }
        }
    }

    #[test]
    fn known_examples_are_never_findings() {
        let matcher = Matcher::builtin();
        for k in super::KNOWN_EXAMPLES {
            assert!(matcher.find(format!("token={k}").as_bytes()).is_empty(), "{k}");
        }
    }
}

//! Property tests: for any bytes around a token of any kind, plain or in base64, the token is
//! found where it stands (when the bytes around respect the boundary rule), and neither the
//! mask filter nor the human or JSON report ever holds its secret part.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use proptest::prelude::*;
use tokenguard::finding::Findings;
use tokenguard::matcher::{is_placeholder_part, Matcher};
use tokenguard::pipeline::Pipeline;
use tokenguard::report::{self, Format, Mode, Options};
use tokenguard::unit::Origin;

use common::TOKEN_KINDS as KINDS;

fn upper_alnum(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_vec()),
        n,
    )
    .prop_map(|v| String::from_utf8(v).unwrap())
}

/// A random token of a random kind, with random (non-placeholder) parts.
fn any_token() -> impl Strategy<Value = (String, String)> {
    prop::sample::select(KINDS).prop_flat_map(|(prefix, len)| {
        (upper_alnum(len), upper_alnum(64))
            .prop_filter("random, not placeholder-shaped", |(p, s)| {
                !is_placeholder_part(p.as_bytes()) && !is_placeholder_part(s.as_bytes())
            })
            .prop_map(move |(p, s)| (format!("{prefix}.{p}.{s}"), s))
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..160)
}

fn fingerprint(t: &str) -> String {
    tokenguard::matcher::fingerprint(t.as_bytes())
}

/// Scans `hay` like a file, then writes both reports; returns the findings and the reports.
fn reports(hay: &[u8]) -> (Findings, Vec<u8>, Vec<u8>) {
    let scanner = Pipeline::new(Matcher::builtin(), Default::default());
    let mut findings = Findings::default();
    scanner.scan_reader(hay, &Origin::new("input.txt"), &mut |f| findings.push(f)).unwrap();
    let mut out = Vec::new();
    for format in [Format::Human, Format::Json] {
        let mut buf = Vec::new();
        let opts = Options { verbose: true, ..Options::new(format, Mode::Files) };
        report::write(&mut buf, &findings, &opts).unwrap();
        out.push(buf);
    }
    let json = out.pop().unwrap();
    (findings, out.pop().unwrap(), json)
}

fn masked(hay: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tokenguard::app::mask_stream(&Matcher::builtin(), hay, &mut out).unwrap();
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn boundary(before: &[u8], after: &[u8]) -> bool {
    before.last().is_none_or(|b| !b.is_ascii_alphanumeric())
        && after.first().is_none_or(|b| !b.is_ascii_alphanumeric())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_plain_token_is_found_where_it_stands_and_never_shown(
        (token, secret) in any_token(), before in bytes(), after in bytes()
    ) {
        let mut hay = before.clone();
        hay.extend_from_slice(token.as_bytes());
        hay.extend_from_slice(&after);
        let found = Matcher::builtin().find(&hay);
        let mine: Vec<_> = found.iter().filter(|m| m.fingerprint == fingerprint(&token)).collect();
        if boundary(&before, &after) {
            prop_assert_eq!(mine.len(), 1, "not found once: {:?}", found);
            prop_assert_eq!(mine[0].span.clone(), before.len()..before.len() + token.len());
            prop_assert_eq!(mine[0].secret.clone(), hay.len() - after.len() - 64..hay.len() - after.len());
        }
        for m in &mine {
            prop_assert_eq!(m.span.clone(), before.len()..before.len() + token.len());
        }
        // The mask filter: same length, secret gone when found, other bytes untouched.
        let out = masked(&hay);
        prop_assert_eq!(out.len(), hay.len());
        if !mine.is_empty() {
            prop_assert!(!contains(&out, &secret));
            prop_assert_eq!(&out[..before.len() + token.len() - 64], &hay[..before.len() + token.len() - 64]);
            prop_assert_eq!(&out[hay.len() - after.len()..], &after[..]);
        }
        // The reports never show the secret, found or not.
        let (findings, human, json) = reports(&hay);
        prop_assert_eq!(findings.findings.len(), found.len());
        prop_assert!(!contains(&human, &secret));
        prop_assert!(!contains(&json, &secret));
    }

    #[test]
    fn a_base64_token_is_found_and_masked_in_every_form(
        (token, secret) in any_token(), before in bytes(), after in bytes(), url_safe in any::<bool>()
    ) {
        prop_assume!(boundary(&before, &after));
        let mut plain = before.clone();
        plain.extend_from_slice(token.as_bytes());
        plain.extend_from_slice(&after);
        let enc = if url_safe { URL_SAFE.encode(&plain) } else { STANDARD.encode(&plain) };
        let hay = format!("data:\n  apiToken: {enc}\n").into_bytes();
        let found = Matcher::builtin().find(&hay);
        prop_assert!(found.iter().any(|m| m.fingerprint == fingerprint(&token)), "{:?}", found);
        let out = masked(&hay);
        prop_assert_eq!(out.len(), hay.len());
        prop_assert!(!contains(&out, &secret));
        // What is left of the encoded text no longer decodes to the secret.
        let text = String::from_utf8(out).unwrap();
        let left = text.trim_end().rsplit(' ').next().unwrap().replace('*', "A");
        let decoded = if url_safe { URL_SAFE.decode(&left) } else { STANDARD.decode(&left) };
        if let Ok(d) = decoded {
            prop_assert!(!contains(&d, &secret[..20]));
        }
        let (_, human, json) = reports(&hay);
        prop_assert!(!contains(&human, &secret) && !contains(&json, &secret));
        prop_assert!(!contains(&human, &enc) && !contains(&json, &enc));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_masking_keeps_length(hay in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let found = Matcher::builtin().find(&hay);
        for m in &found {
            prop_assert!(m.span.start <= m.secret.start && m.secret.end <= m.span.end.max(m.secret.end));
            prop_assert!(m.span.end <= hay.len());
        }
        prop_assert_eq!(masked(&hay).len(), hay.len());
    }
}

/// A reader that hands out its input in the given chunk sizes, as a pipe does.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()].max(1);
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// One line (or several) of a log: a token in one of the forms the matcher knows, or none.
fn log_piece() -> impl Strategy<Value = (String, Vec<String>)> {
    let utf16 = |t: &str| -> String {
        t.encode_utf16().flat_map(u16::to_le_bytes).map(char::from).collect()
    };
    (any_token(), 0..10u8, 1..60usize, "[a-z =:]{0,30}").prop_map(
        move |((token, secret), form, at, words)| {
            let line = match form {
                0 => format!("{words} {token}\n"),
                1 => format!("apiToken: {}\n", STANDARD.encode(format!("{words}{token}"))),
                2 => {
                    // base64 wrapped at 76 columns, indented, as a YAML block scalar; the
                    // token starts anywhere in it (a line end may cut its keyword).
                    let enc = STANDARD.encode(format!("{}{words}:{token}\n", "x".repeat(at)));
                    let lines: Vec<&str> = enc
                        .as_bytes()
                        .chunks(76)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect();
                    format!("  token: |\n    {}\n", lines.join("\n    "))
                }
                3 => {
                    // Quoted-printable soft line breaks inside the token (after its prefix).
                    let cut = 7 + at.min(token.len() - 8);
                    let cut2 = (cut + 40).min(token.len() - 1);
                    format!(
                        "{words} {}=\n{}=\n{}\n",
                        &token[..cut],
                        &token[cut..cut2],
                        &token[cut2..]
                    )
                }
                4 => format!("{words} {}\n", token.replace('.', "%2E")),
                5 => format!("{}\n", utf16(&format!("{words} {token}"))),
                6 => format!("{words}\n"),
                7 => {
                    let legacy = common::legacy_token();
                    return (format!("- name: DT_API_TOKEN\n  value: {legacy}\n"), vec![legacy]);
                }
                9 => {
                    // A mail body: `KEY=<token>` quoted-printable (`=` as `=3D`), cut by soft
                    // breaks every 75 characters wherever they fall (in the key, the escape's
                    // neighbourhood, the prefix).
                    let plain = format!("{}_TOKEN={token}", "K".repeat(at));
                    let mut out = String::new();
                    let mut width = 0;
                    for c in plain.chars() {
                        let piece = if c == '=' { "=3D".to_string() } else { c.to_string() };
                        if width + piece.len() > 75 {
                            out.push_str("=\n");
                            width = 0;
                        }
                        width += piece.len();
                        out.push_str(&piece);
                    }
                    format!("{out}\n")
                }
                _ => format!("\"{words}\\n{token}\"\n"),
            };
            (line, vec![secret])
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// `mask` on a pipe (answered line by line as lines arrive, in chunks of any size) prints
    /// exactly what `mask FILE` prints for the same input, in every encoding the matcher
    /// handles, and neither shows a secret.
    #[test]
    fn mask_on_a_pipe_prints_what_mask_of_a_file_prints(
        pieces in proptest::collection::vec(log_piece(), 1..12),
        sizes in proptest::collection::vec(1..400usize, 1..8),
    ) {
        let input: String = pieces.iter().map(|(l, _)| l.as_str()).collect();
        let whole = masked(input.as_bytes());
        let mut piped = Vec::new();
        let reader = Chunked { data: input.as_bytes(), sizes, next: 0 };
        tokenguard::app::mask_windows(
            &Matcher::builtin(),
            tokenguard::stream::Windows::interactive(reader),
            &mut piped,
        )
        .unwrap();
        prop_assert!(whole == piped, "the pipe's output differs from the file's");
        // Read as a mail reader would: soft breaks joined, `=3D` as `=`.
        let joined = String::from_utf8_lossy(&piped).replace("=\n", "").replace("=3D", "=");
        for (_, secrets) in &pieces {
            for s in secrets {
                prop_assert!(!contains(&piped, s), "a secret passed the pipe");
                prop_assert!(!joined.contains(s.as_str()), "a secret passed the pipe, cut");
            }
        }
    }
}

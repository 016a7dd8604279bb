//! Checks shared by the matcher targets: what must hold for any input.

use tokenguard::finding::Findings;
use tokenguard::matcher::Matcher;
use tokenguard::report::{self, Format, Mode, Options};
use tokenguard::pipeline::Pipeline;
use tokenguard::unit::Origin;

/// Finds the tokens of `hay` and checks every promise the matcher makes about them:
/// spans inside the input, the secret inside the span, masking removes every reported secret,
/// a re-scan of the masked text finds none of them again, the streaming mask filter and the
/// stream scanner agree with the one-shot matcher, and no report holds a secret.
pub fn check(matcher: &Matcher, hay: &[u8]) {
    let found = matcher.find(hay);
    for m in &found {
        assert!(m.span.start < m.span.end && m.span.end <= hay.len(), "span {:?}", m.span);
        assert!(m.secret.start < m.secret.end, "empty secret {:?}", m.secret);
        assert!(
            m.span.start <= m.secret.start && m.secret.end <= m.span.end,
            "secret {:?} outside span {:?}",
            m.secret,
            m.span
        );
        assert!(m.fingerprint.starts_with("sha256:") && m.fingerprint.len() == 71);
    }
    let secrets: Vec<_> = found.iter().map(|m| m.secret.clone()).collect();
    let masked = tokenguard::mask::mask(hay, &secrets);
    assert_eq!(masked.len(), hay.len());
    for m in &found {
        // Every byte becomes `*` but the line ends (and the indentation after them) inside
        // base64 wrapped over lines, which `mask` keeps as they were.
        let kept = |(i, &b): (usize, &u8)| {
            b == b'*' || (b == hay[m.secret.start + i] && b" \t\r\n\\n=".contains(&b))
        };
        assert!(
            masked[m.secret.clone()].iter().enumerate().all(kept),
            "secret left in the mask"
        );
    }
    for again in matcher.find(&masked) {
        assert!(
            !found.iter().any(|m| m.fingerprint == again.fingerprint),
            "a masked token is found again at {:?}",
            again.span
        );
    }
    // The streaming filter (the `mask` command) masks exactly the same bytes.
    let mut streamed = Vec::new();
    tokenguard::app::mask_stream(matcher, hay, &mut streamed).expect("memory streams");
    assert!(streamed == masked, "mask_stream differs from mask(find())");

    // The stream scanner reports the same tokens, and no report quotes a secret.
    let scanner = Pipeline::new(matcher.clone(), Default::default());
    let mut findings = Findings::default();
    scanner
        .scan_reader(hay, &Origin::new("input"), &mut |f| findings.push(f))
        .expect("memory reads");
    assert_eq!(findings.findings.len() + findings.allowed.len(), found.len());
    for format in [Format::Human, Format::Json, Format::Sarif] {
        let mut out = Vec::new();
        let opts = Options { verbose: true, ..Options::new(format, Mode::Files) };
        report::write(&mut out, &findings, &opts).expect("memory writes");
        for m in &found {
            let secret = &hay[m.secret.clone()];
            if secret.len() >= 12 {
                assert!(
                    !out.windows(secret.len()).any(|w| w == secret),
                    "a {format:?} report holds a secret"
                );
            }
        }
    }
}

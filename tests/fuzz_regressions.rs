//! Inputs that the fuzz targets (fuzz/, docs/development.md) found failing, kept as tests.

mod common;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{secret_of, token_with};
use tokenguard::matcher::{fingerprint, Encoding, Matcher};

/// fuzz target `tokens`: a token in base64 inside base64 was missed when the inner
/// encoding's group started before the outer group that the signature pointed at (inner
/// alignment 2, as in `base64(base64("''" + token))`).
#[test]
fn base64_inside_base64_is_found_at_every_alignment() {
    let m = Matcher::builtin();
    for (prefix, len) in [("dt0c01", 24), ("dt0s16", 8), ("dt0g02", 8)] {
        let t = token_with(prefix, len);
        for inner_lead in ["", "'", "''", ":", "u:", "ab:"] {
            for outer_lead in ["", "'", "''"] {
                for (name, engine) in
                    [("standard", &STANDARD_NO_PAD), ("url-safe", &URL_SAFE_NO_PAD)]
                {
                    let once = engine.encode(format!("{inner_lead}{t}"));
                    let twice = engine.encode(format!("{outer_lead}{once}"));
                    let hay = format!("data: {twice}\n");
                    let found = m.find(hay.as_bytes());
                    let what = format!("{prefix} {name} inner {inner_lead:?} outer {outer_lead:?}");
                    let hit = found.iter().find(|f| f.fingerprint == fingerprint(t.as_bytes()));
                    let hit = hit.unwrap_or_else(|| panic!("{what}: not found"));
                    assert_eq!(hit.encoding, Encoding::Base64, "{what}");
                    let masked =
                        tokenguard::mask::mask(hay.as_bytes(), std::slice::from_ref(&hit.secret));
                    let again = m.find(&masked);
                    assert!(
                        again.iter().all(|f| f.fingerprint != hit.fingerprint),
                        "{what}: still found after masking"
                    );
                    assert!(!String::from_utf8_lossy(&masked).contains(secret_of(&t)));
                }
            }
        }
    }
}

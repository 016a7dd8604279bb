//! Lines and columns of findings in large (mapped) files, searched in batches of 16 MiB cut
//! into segments on every core: findings after many clean segments and batches, on a line
//! that crosses a batch, must get their exact line and column, counted here byte by byte.

mod common;

use common::{token, tokenguard};

/// A generated file and the place (line, column, token id) of each token in it.
struct Text {
    bytes: Vec<u8>,
    expected: Vec<(u64, u64, String)>,
    line: u64,
    line_start: usize,
    seed: u64,
}

impl Text {
    fn new() -> Text {
        Text { bytes: Vec::new(), expected: Vec::new(), line: 1, line_start: 0, seed: 0x2545_f491 }
    }

    fn push(&mut self, part: &[u8]) {
        for (i, &b) in part.iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.bytes.len() + i + 1;
            }
        }
        self.bytes.extend_from_slice(part);
    }

    /// Clean lines of varying length (some ending in CRLF, some empty) up to `len` bytes.
    fn clean_to(&mut self, len: usize) {
        while self.bytes.len() < len {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            let n = (self.seed % 200) as usize;
            let mut line: Vec<u8> =
                b"lorem ipsum dolor sit amet ".iter().copied().cycle().take(n).collect();
            if self.seed % 5 == 0 {
                line.push(b'\r');
            }
            line.push(b'\n');
            line.truncate(len - self.bytes.len());
            self.push(&line);
        }
    }

    /// A blank and a token (noted with its line and column), then `after`.
    fn token(&mut self, after: &[u8]) {
        self.push(b" ");
        let t = token();
        let column = (self.bytes.len() - self.line_start + 1) as u64;
        self.expected.push((self.line, column, t.rsplit_once('.').unwrap().0.to_string()));
        self.push(t.as_bytes());
        self.push(after);
    }

    /// Scans the text as a file and returns the place of each finding.
    fn found(&self) -> Vec<(u64, u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        std::fs::write(&path, &self.bytes).unwrap();
        let out = tokenguard().args(["scan", "--format", "json"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        common::finding_places(&out.stdout)
    }
}

const MIB: usize = 1 << 20;

/// Clean text to 29 MiB, then a line of 6 MiB (from the second batch into the third, no
/// newline in whole segments) with a token near its end, then more tokens on lines after
/// more clean text, the last ones at the very end of the file.
fn late_tokens(text: &mut Text) {
    text.clean_to(29 * MIB);
    text.push(b"\n");
    text.push(&vec![b'w'; 6 * MIB]);
    text.token(b" trailing words\n");
    text.clean_to(40 * MIB);
    text.token(b"\n");
    text.push(b"  key = ");
    text.token(b" and on the same line ");
    text.token(b"\r\n");
    text.clean_to(44 * MIB);
    text.push(b"last: ");
    text.token(b"");
}

#[test]
fn findings_only_after_many_clean_batches_have_their_exact_line_and_column() {
    let mut text = Text::new();
    late_tokens(&mut text);
    assert!(text.bytes.len() > 44 * MIB);
    let expected = text.expected.clone();
    assert_eq!(text.found(), expected);
}

#[test]
fn findings_at_the_start_and_after_many_clean_batches_have_their_exact_line_and_column() {
    let mut text = Text::new();
    text.push(b"first: ");
    text.token(b"\n");
    text.clean_to(MIB);
    text.token(b"\n");
    // Clean from here to 29 MiB: the rest of the first batch and most of the second.
    late_tokens(&mut text);
    let expected = text.expected.clone();
    assert_eq!(text.found(), expected);
}

#[test]
fn a_finding_in_the_last_segment_of_a_later_batch_after_clean_ones_has_its_line() {
    // Clean segments in the batch of the finding as well as whole batches before it.
    let mut text = Text::new();
    text.clean_to(47 * MIB + 12345);
    text.token(b"\n");
    text.clean_to(48 * MIB - 10);
    let expected = text.expected.clone();
    assert_eq!(text.found(), expected);
}

//! Reading input of any size as windows for the matcher. Windows overlap, so that no token is
//! cut in two (a token may span lines: base64 wrapped at 76 columns) and memory stays bounded
//! whatever the input. Interactive input (`tail -f | tokenguard mask`) is answered line by
//! line instead: a window ends at a line end as soon as one is in reach, except after a line
//! that may go on with a wrapped base64 token, which waits for the next line.

use std::io::{self, Read};
use std::ops::Range;

use crate::matcher::{is_base64_char, BASE64_SIGNATURE_SEARCH};

/// Bytes read at once and the most held for one window (besides the overlap).
pub const WINDOW: usize = 1 << 20;
/// Bytes at the end of a cut window that are reported only with the next window: longer than
/// any match (a base64 match is at most 16 KiB).
pub const OVERLAP: usize = 64 << 10;
/// Bytes kept before the reported part of a window, for the checks that look behind a match.
pub const CONTEXT: usize = 1 << 10;
/// Bytes asked of the first read, and of any read after a short one.
const FIRST_READ: usize = 64 << 10;

/// A window of the input.
pub struct Window<'a> {
    /// The bytes: context, then the part reported now, then (for a cut line) the overlap.
    pub bytes: &'a [u8],
    /// Offset of `bytes[0]` in the whole input.
    pub base: u64,
    /// Matches starting inside this range of `bytes` belong to this window (and the bytes to
    /// pass on, for a filter).
    pub report: Range<usize>,
}

/// Cuts a reader into [`Window`]s.
pub struct Windows<R> {
    reader: R,
    buf: Vec<u8>,
    /// How many bytes of `buf` hold input (the rest is spare room, already initialised).
    len: usize,
    /// Where the unreported part of `buf` starts.
    keep: usize,
    /// Offset of `buf[0]` in the input.
    base: u64,
    eof: bool,
    /// Bytes of `buf` already given out in a window and to drop before the next read.
    consumed: usize,
    /// Whether the last read (or none yet) gave less than asked.
    short: bool,
    /// Hand out whole lines as soon as they arrive (see the module documentation).
    interactive: bool,
}

/// The most bytes of lines held back, waiting for the rest of a wrapped base64 token.
const HOLD: usize = 16 << 10;

impl<R: Read> Windows<R> {
    /// Starts reading `reader` (a file, or anything read to its end before answering).
    pub fn new(reader: R) -> Self {
        Self::with_mode(reader, false)
    }

    /// Starts reading `reader` that is answered line by line (a filter on a pipe).
    pub fn interactive(reader: R) -> Self {
        Self::with_mode(reader, true)
    }

    fn with_mode(reader: R, interactive: bool) -> Self {
        Windows {
            reader,
            buf: Vec::new(),
            len: 0,
            keep: 0,
            base: 0,
            eof: false,
            consumed: 0,
            short: true,
            interactive,
        }
    }

    /// The next window, or `None` at the end of the input.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> io::Result<Option<Window<'_>>> {
        self.drop_consumed();
        loop {
            let pending = self.len - self.keep;
            if self.eof {
                if pending == 0 {
                    return Ok(None);
                }
                return Ok(Some(self.emit(self.len, self.len)));
            }
            if pending > 0 && self.interactive {
                // A whole line (or several) is ready: hand it out at once, unless the last
                // one may go on with a wrapped base64 token on the next line.
                if let Some(nl) = memchr::memrchr(b'\n', &self.buf[self.keep..self.len]) {
                    let end = self.keep + nl + 1;
                    let end = self.keep + held_back(&self.buf[self.keep..end]);
                    if end > self.keep {
                        return Ok(Some(self.emit(end, end)));
                    }
                }
            }
            if pending >= WINDOW + OVERLAP {
                let end = self.len;
                return Ok(Some(self.emit(end, end - OVERLAP)));
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let old = self.len;
        // After a short read (the end of a file is near, or a pipe gives what it has), ask for
        // a little: a folder of many small files then costs no 1 MiB buffer per file.
        let ask = if self.short { FIRST_READ } else { WINDOW };
        // The buffer stays initialised once grown: zeroed only when it grows, never per read.
        if self.buf.len() < old + ask {
            self.buf.resize(old + ask, 0);
        }
        let n = loop {
            match self.reader.read(&mut self.buf[old..old + ask]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.len = old + n;
        self.short = n < ask;
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// Gives out `buf[..end]` reporting `keep..report_end`, and arranges what the next window
    /// keeps: nothing after a line end, the context and the overlap after a cut.
    fn emit(&mut self, end: usize, report_end: usize) -> Window<'_> {
        let report = self.keep..report_end;
        // What the next window starts with: some context before what it reports (the
        // overlap, for a cut), so that a value is still seen with the key on a line before
        // it (`- name: DT_API_TOKEN` then `value: ...`) when the lines come in two windows.
        let next_start = report_end.saturating_sub(CONTEXT);
        self.consumed = next_start;
        self.keep = report_end;
        Window { bytes: &self.buf[..end], base: self.base, report }
    }

    fn drop_consumed(&mut self) {
        if self.consumed > 0 {
            self.buf.copy_within(self.consumed..self.len, 0);
            self.len -= self.consumed;
            self.base += self.consumed as u64;
            self.keep -= self.consumed;
            self.consumed = 0;
        }
    }
}

/// How many bytes of `lines` (whole lines) to hand out now: all of them, or all but a tail of
/// lines that may go on with a token: a wrapped base64 token ([`base64_held_back`]) or a
/// token cut by quoted-printable soft line breaks ([`soft_broken_held_back`]).
/// What is handed out must be masked right without the lines held back: so the lines before
/// a held tail are checked again (a wrapped block just before a soft-broken one is held too).
fn held_back(lines: &[u8]) -> usize {
    let mut end = lines.len();
    while end > 0 {
        let next = base64_held_back(&lines[..end])
            .min(soft_broken_held_back(&lines[..end]))
            .min(value_held_back(&lines[..end]));
        if next == end {
            break;
        }
        end = next;
    }
    end
}

/// For a `value` key whose name may follow it (`- value: …` then `name: DT_API_TOKEN`, in
/// either YAML or pretty-printed JSON, perhaps with blank or comment lines between): where
/// the trailing block from that line on starts, when every line after it is blank or a
/// comment; else `lines.len()`.
fn value_held_back(lines: &[u8]) -> usize {
    let mut start = lines.len();
    while start > 0 && lines.len() - start < CONTEXT {
        let prev = memchr::memrchr(b'\n', &lines[..start - 1]).map_or(0, |p| p + 1);
        let line = lines[prev..start - 1].trim_ascii();
        if line.is_empty() || line.starts_with(b"#") || line.starts_with(b"//") {
            start = prev;
            continue;
        }
        let line = line.strip_prefix(b"-").or_else(|| line.strip_prefix(b"{")).unwrap_or(line);
        let line = line.trim_ascii_start();
        let line = line.strip_prefix(b"\"").unwrap_or(line);
        let sep = line.iter().skip(5).find(|b| !b" \t\"'".contains(b));
        let value = line.len() <= 64
            && line.get(..5).is_some_and(|k| k.eq_ignore_ascii_case(b"value"))
            && sep.is_some_and(|b| *b == b':' || *b == b'=');
        return if value { prev } else { lines.len() };
    }
    lines.len()
}

/// The keyword that starts every structured token (the prefilter's own).
const STRUCTURED_KEYWORD: &[u8] = b"dt0";

/// For quoted-printable text (e-mail, `=` before a line end is a soft line break that the
/// decoder removes): where the trailing block of lines that end in a soft break starts, when
/// a token may begin inside it (the structured keyword stands in it), up to [`HOLD`] bytes;
/// else `lines.len()`.
fn soft_broken_held_back(lines: &[u8]) -> usize {
    let soft = |line: &[u8]| line.strip_suffix(b"\r").unwrap_or(line).ends_with(b"=");
    let mut start = lines.len();
    while start > 0 && lines.len() - start < HOLD {
        let prev = memchr::memrchr(b'\n', &lines[..start - 1]).map_or(0, |p| p + 1);
        if !soft(&lines[prev..start - 1]) {
            break;
        }
        start = prev;
    }
    let block = &lines[start..];
    if start == lines.len()
        || lines.len() - start >= HOLD
        || memchr::memmem::find(block, STRUCTURED_KEYWORD).is_none()
    {
        return lines.len();
    }
    start
}

/// For base64: all of `lines`, or all but a tail of lines that may go on with a wrapped
/// base64 token (the last line ends in base64 text, is not the shorter last line of a
/// wrapped block, and the start of an encoded token stands in that tail), up to [`HOLD`] bytes.
fn base64_held_back(lines: &[u8]) -> usize {
    let body = &lines[..lines.len() - 1];
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let run = body.iter().rev().take_while(|&&b| is_base64_char(b)).count();
    if run < 4 {
        return lines.len();
    }
    // A base64 line shorter than the one before ends a wrapped block: nothing follows.
    let last_start = memchr::memrchr(b'\n', &lines[..lines.len() - 1]).map_or(0, |p| p + 1);
    if last_start > 0 {
        let prev_start = memchr::memrchr(b'\n', &lines[..last_start - 1]).map_or(0, |p| p + 1);
        let (last, prev) =
            (body[last_start..].trim_ascii(), lines[prev_start..last_start - 1].trim_ascii());
        if base64_line(last) && base64_line(prev) && last.len() < prev.len() {
            return lines.len();
        }
    }
    // Hold the block of base64 lines at the end, with the line before it when that line ends
    // in base64 (`apiToken: ZHQw...` wrapped onward), at most HOLD bytes.
    let mut start = lines.len();
    while start > 0 && lines.len() - start < HOLD {
        let prev = memchr::memrchr(b'\n', &lines[..start - 1]).map_or(0, |p| p + 1);
        let line = lines[prev..start - 1].trim_ascii();
        if !base64_line(line) {
            if line.iter().rev().take_while(|&&b| is_base64_char(b)).count() >= 4 {
                start = prev;
            }
            break;
        }
        start = prev;
    }
    // A line of base64 alone may end inside the keyword of a token that the next line goes
    // on with (too little of it for a signature): it waits too.
    let last = body[last_start..].trim_ascii();
    let whole = base64_line(last) && last.len() >= 16 && !last.ends_with(b"=");
    if lines.len() - start >= HOLD || !(whole || may_hold_encoded_token(&lines[start..])) {
        lines.len()
    } else {
        start
    }
}

/// Whether `text` holds the start of a base64-encoded token that its last line may cut: a
/// signature of a keyword stands in it, and a run of base64 decodes (at one of the four
/// character alignments, once or as base64 inside base64) to that keyword followed by
/// nothing but token characters up to the end of the run, or ends inside the keyword right
/// after a signature. A signature alone is three or four characters that random text
/// (another token's secret part) often holds: it is not enough.
fn may_hold_encoded_token(text: &[u8]) -> bool {
    BASE64_SIGNATURE_SEARCH.is_match(text) && runs_decode_to_keyword(text, 2, None)
}

/// Whether a run of base64 in `text` decodes to a keyword with only token characters after
/// it (see [`may_hold_encoded_token`]); `depth` more layers of base64 are tried inside.
/// `cut`: whether the outer run ends right after a signature (then a run that ends inside
/// the keyword counts); `None` at the outer layer, where it is worked out per run.
fn runs_decode_to_keyword(text: &[u8], depth: u8, cut: Option<bool>) -> bool {
    let matcher = crate::matcher::Matcher::builtin_ref();
    let token_char = |b: &u8| b.is_ascii_alphanumeric() || b"._-+/=\0".contains(b);
    let mut at = 0;
    while at < text.len() {
        let len = text[at..].iter().take_while(|&&b| is_base64_char(b)).count();
        if len >= 2 {
            let run = &text[at..at + len];
            let cut = cut.unwrap_or_else(|| {
                let tail = &run[run.len().saturating_sub(8)..];
                BASE64_SIGNATURE_SEARCH.is_match(tail)
            });
            for align in 0..4.min(len) {
                let (bytes, _) = crate::matcher::decode_base64_prefix(&run[align..]);
                let found = matcher.base64_keywords().any(|kw| {
                    [kw.to_vec(), crate::matcher::utf16le(kw)].iter().any(|kw| {
                        memchr::memmem::find_iter(&bytes, kw)
                            .any(|k| bytes[k + kw.len()..].iter().all(token_char))
                            || (cut && (2..kw.len()).any(|n| bytes.ends_with(&kw[..n])))
                    })
                });
                if found || (depth > 0 && runs_decode_to_keyword(&bytes, depth - 1, Some(cut))) {
                    return true;
                }
            }
        }
        at += len.max(1);
    }
    false
}

/// A line (trimmed) of base64 text alone, padding included.
fn base64_line(line: &[u8]) -> bool {
    !line.is_empty() && line.iter().all(|&b| is_base64_char(b) || b == b'=')
}

/// Keeps count of lines across windows, to turn offsets into `line:column`.
#[derive(Debug, Clone)]
pub struct LineCounter {
    /// Absolute offset up to which newlines were counted.
    counted_to: u64,
    /// 1-based line number at `counted_to`.
    line: u64,
    /// Absolute offset of the start of that line.
    line_start: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter { counted_to: 0, line: 1, line_start: 0 }
    }
}

impl LineCounter {
    /// Line and 1-based byte column of absolute offset `at`, which lies in `window` (bytes
    /// starting at absolute `base`) and is not before any offset asked earlier.
    pub fn locate(&mut self, window: &[u8], base: u64, at: u64) -> (u64, u64) {
        self.advance(window, base, at);
        (self.line, at - self.line_start + 1)
    }

    /// Counts the newlines of `window` up to absolute offset `to`.
    pub fn advance(&mut self, window: &[u8], base: u64, to: u64) {
        if to <= self.counted_to {
            return;
        }
        let from = (self.counted_to - base) as usize;
        let upto = (to - base) as usize;
        let part = &window[from..upto];
        let newlines = count_newlines(part);
        if newlines > 0 {
            self.line += newlines;
            let last = memchr::memrchr(b'\n', part).expect("counted one");
            self.line_start = base + (from + last) as u64 + 1;
        }
        self.counted_to = to;
    }
}

/// Newlines in `bytes` (64 bytes at a time with AVX2 where the CPU has it).
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= 64
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the CPU has AVX2 and POPCNT.
        return unsafe { count_newlines_avx2(bytes) };
    }
    count_newlines_portable(bytes)
}

/// [`count_newlines`] in blocks of 255 with byte-wide counters, which the compiler turns
/// into SIMD compares and adds (several times faster than visiting each newline).
fn count_newlines_portable(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|block| u64::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// [`count_newlines`] 64 bytes at a time: a bit per newline, the bits counted.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn count_newlines_avx2(bytes: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let lf = _mm256_set1_epi8(b'\n' as i8);
    let mut chunks = bytes.chunks_exact(64);
    let mut n = 0;
    for c in &mut chunks {
        // SAFETY: 32 bytes of the 64 of `c`, unaligned.
        let bits = |at: usize| {
            let v = _mm256_loadu_si256(c.as_ptr().add(at).cast());
            u64::from(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, lf)) as u32)
        };
        n += u64::from((bits(0) | bits(32) << 32).count_ones());
    }
    n + count_newlines_portable(chunks.remainder())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Newlines counted in blocks agree with a count byte by byte, wherever they stand
        /// (bytes that differ from LF in one bit, and 0xFF, among them).
        #[test]
        fn newlines_are_counted_as_one_by_one(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"\n\n\x0b\x08\x8a\xffa".to_vec()), 0..700),
            from in 0usize..100,
        ) {
            let part = &bytes[from.min(bytes.len())..];
            let want = part.iter().filter(|&&b| b == b'\n').count() as u64;
            proptest::prop_assert_eq!(count_newlines(part), want);
            proptest::prop_assert_eq!(count_newlines_portable(part), want);
        }
    }
    use crate::matcher::BASE64_SIGNATURES;

    fn windows(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut w = Windows::new(input);
        let mut out = Vec::new();
        while let Some(win) = w.next().unwrap() {
            out.push((win.base + win.report.start as u64, win.bytes[win.report.clone()].to_vec()));
        }
        out
    }

    #[test]
    fn reported_parts_tile_the_input() {
        let mut input = b"first line\nsecond\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * WINDOW));
        input.extend(b"\nlast");
        let parts = windows(&input);
        let mut joined: Vec<u8> = Vec::new();
        for (at, part) in &parts {
            assert_eq!(*at as usize, joined.len());
            joined.extend(part);
        }
        assert_eq!(joined, input);
    }

    #[test]
    fn interactive_windows_hold_only_lines_that_may_go_on_with_a_wrapped_token() {
        let sig_line = format!("  {}\n", "ZHQw".repeat(19));
        // No signature: every line goes out at once, but for a line of base64 alone, which
        // may end inside the keyword of a token that the next line goes on with.
        let plain = b"abc\nkey: QUJDREVGR0hJSktM\nQUJD\n";
        assert_eq!(held_back(plain), plain.len());
        let block = b"done.\nQUJDREVGR0hJSktM\n";
        assert_eq!(held_back(block), 6);
        // A full-width line with a signature waits, with the key line before it.
        let text = format!("apiToken: |\n{sig_line}");
        assert_eq!(held_back(text.as_bytes()), "apiToken: |\n".len());
        let text = format!("key: x\napiToken: {}\n", "ZHQw".repeat(10));
        assert_eq!(held_back(text.as_bytes()), "key: x\n".len());
        // The shorter last line of a block ends it; padding or other text ends a line too.
        let text = format!("{sig_line}  QUJD\n");
        assert_eq!(held_back(text.as_bytes()), text.len());
        for ended in [&b"ZHQwQUJDRA==\n"[..], b"ZHQwQUJDREVG done.\n"] {
            assert_eq!(held_back(ended), ended.len());
        }
        // Never more than HOLD bytes.
        let long = sig_line.repeat(HOLD / sig_line.len() + 2);
        assert_eq!(held_back(long.as_bytes()), long.len());
    }

    #[test]
    fn a_plain_token_whose_parts_hold_a_signature_goes_out_at_once() {
        // `R0M` and `SME` are signatures of `dt0` (at two alignments); random upper-case
        // parts hold them often, and the line must not wait for the next one.
        for (case, secret) in [
            format!("{}R0M{}", "A".repeat(30), "B".repeat(31)),
            format!("{}GR0M{}", "Q".repeat(40), "Z".repeat(20)),
            format!("{}SME", "K".repeat(61)),
        ]
        .into_iter()
        .enumerate()
        {
            let line = format!("event 1 token=dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.{secret}\n");
            assert_eq!(held_back(line.as_bytes()), line.len(), "case {case}");
        }
        // Many random lines of plain tokens: none waits.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(seed % 36) as usize] as char
        };
        for i in 0..20_000 {
            let public: String = (0..24).map(|_| next()).collect();
            let secret: String = (0..64).map(|_| next()).collect();
            let line = format!("event {i} token=dt0c01.{public}.{secret}\n");
            assert_eq!(held_back(line.as_bytes()), line.len(), "random line {i}");
        }
    }

    #[test]
    fn an_encoded_token_cut_at_the_line_end_waits_at_every_alignment() {
        use base64::Engine;
        let token = format!("dt0c01.{}.{}", "A1".repeat(12), "B2".repeat(32));
        for pad in 0..3 {
            let plain = format!("{}{token}", "x".repeat(pad));
            let once = base64::engine::general_purpose::STANDARD.encode(&plain);
            let twice = base64::engine::general_purpose::STANDARD.encode(&once);
            for encoded in [once, twice] {
                // The line ends anywhere after a signature: the token goes on on the next.
                for cut in 4..encoded.len() - 8 {
                    let head = &encoded[..cut];
                    if !BASE64_SIGNATURES.iter().any(|(sig, _)| head.contains(sig.as_str())) {
                        continue;
                    }
                    let text = format!("apiToken: {head}\n");
                    assert_eq!(held_back(text.as_bytes()), 0, "pad {pad}, cut {cut}");
                }
            }
        }
    }

    #[test]
    fn counts_newlines_in_long_input() {
        let text: Vec<u8> = (0..10_000u32).map(|i| if i % 7 == 0 { b'\n' } else { b'x' }).collect();
        assert_eq!(count_newlines(&text), text.iter().filter(|&&b| b == b'\n').count() as u64);
    }

    #[test]
    fn counts_lines_and_columns() {
        let text = b"a\nbc\ndef";
        let mut c = LineCounter::default();
        assert_eq!(c.locate(text, 0, 0), (1, 1));
        assert_eq!(c.locate(text, 0, 3), (2, 2));
        assert_eq!(c.locate(text, 0, 7), (3, 3));
    }
}

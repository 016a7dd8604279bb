//! Reading input of any size as windows for the matcher: a window ends at a line end when one
//! is in reach, so interactive input (`tail -f`) is answered line by line; a line longer than
//! a window is cut into windows that overlap, so that no token is cut in two and memory stays
//! bounded whatever the input.

use std::io::{self, Read};
use std::ops::Range;

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
}

impl<R: Read> Windows<R> {
    /// Starts reading `reader`.
    pub fn new(reader: R) -> Self {
        Windows {
            reader,
            buf: Vec::new(),
            len: 0,
            keep: 0,
            base: 0,
            eof: false,
            consumed: 0,
            short: true,
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
            if pending > 0 {
                // A whole line (or several) is ready: hand it out at once.
                if let Some(nl) = memchr::memrchr(b'\n', &self.buf[self.keep..self.len]) {
                    let end = self.keep + nl + 1;
                    return Ok(Some(self.emit(end, end)));
                }
                if pending >= WINDOW + OVERLAP {
                    let end = self.len;
                    return Ok(Some(self.emit(end, end - OVERLAP)));
                }
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
        // What the next window starts with: for a cut, some context before the overlap.
        let next_start = if report_end < end { report_end.saturating_sub(CONTEXT) } else { end };
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

/// Newlines in `bytes`, counted in blocks of 255 with byte-wide counters, which the compiler
/// turns into SIMD compares and adds (several times faster than visiting each newline).
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|block| u64::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Runs of base64 characters long enough to hold an encoded token, found 64 bytes at a time
//! (the base64 forms of the keywords are looked for only inside them), and the test that
//! tells a run written as a hash or UUID. Line ends count as characters of a run: wrapped
//! base64 of any width (`base64 -w 16`) is one run.

use std::ops::Range;

use super::linecut;

/// A character of a run: base64, or a line end (LF, CR) inside wrapped base64.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn is_run_char(b: u8) -> bool {
    super::is_base64_char(b) || b == b'\n' || b == b'\r'
}

/// Shortest run of base64 characters searched for base64 forms: the shortest token that any
/// rule looks for in base64, base64-encoded, is longer.
pub(super) const MIN_BASE64_RUN: usize = 23;

/// Whether `text` is written in the alphabet of hexadecimal hashes and UUIDs alone: digits,
/// `-`, and letters `a`-`f` or `A`-`F` (one case throughout).
pub(super) fn hex_alone(text: &[u8]) -> bool {
    // Per byte, which of the two alphabets (bit 0 lower case, bit 1 upper) holds it.
    static HEX: [u8; 256] = {
        let mut t = [0; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = match b as u8 {
                b'0'..=b'9' | b'-' | b'\n' | b'\r' => 3,
                b'a'..=b'f' => 1,
                b'A'..=b'F' => 2,
                _ => 0,
            };
            b += 1;
        }
        t
    };
    // Most runs that are not hashes leave both alphabets within their first bytes.
    let in_both = |both: u8, bytes: &[u8]| bytes.iter().fold(both, |m, &b| m & HEX[usize::from(b)]);
    let mut both = 3;
    let mut chunks = text.chunks_exact(8);
    for chunk in &mut chunks {
        both = in_both(both, chunk);
        if both == 0 {
            return false;
        }
    }
    in_both(both, chunks.remainder()) != 0
}

/// Whether a run holds at least [`MIN_BASE64_RUN`] base64 characters: not counting its line
/// ends and indentation, the only bytes of a run up to the space (32 bytes at a time, until
/// enough are seen).
pub(super) fn enough_base64(run: &[u8]) -> bool {
    let mut seen = 0;
    for c in run.chunks(32) {
        seen += c.iter().fold(0u8, |n, &b| n + u8::from(b > b' ')) as usize;
        if seen >= MIN_BASE64_RUN {
            return true;
        }
    }
    false
}

/// Whether a run is worth searching for base64 forms: it holds [`enough_base64`] and,
/// unless a form is written in the alphabet of hashes, it is not [`hex_alone`]. Both told
/// from one look at 32 bytes at a time where the CPU has AVX2 (most runs are decided by
/// their first 32 bytes).
#[derive(Debug, Clone, Copy)]
pub(super) struct WorthSearching {
    /// Whether a form is written in the alphabet of hashes (hashes are searched too).
    hex_too: bool,
    /// Whether the CPU has AVX2 (and the bit instructions).
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl WorthSearching {
    /// The test, for forms among which one is written in the alphabet of hashes or not.
    pub(super) fn new(hex_too: bool) -> WorthSearching {
        WorthSearching {
            hex_too,
            #[cfg(target_arch = "x86_64")]
            avx2: std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("bmi2")
                && std::is_x86_feature_detected!("popcnt"),
        }
    }

    /// Whether the run `run` of `hay` (of base64 characters, line ends and indentation) is
    /// worth searching.
    #[cfg(test)]
    fn run(&self, hay: &[u8], run: Range<usize>) -> bool {
        let mut runs = vec![run];
        self.retain(hay, &mut runs);
        !runs.is_empty()
    }

    /// Keeps the runs of `runs` (in `hay`) worth searching, in their order.
    pub(super) fn retain(&self, hay: &[u8], runs: &mut Vec<Range<usize>>) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 && hay.len() >= 32 {
            // SAFETY: the CPU has AVX2, BMI2 and POPCNT; `hay` holds 32 bytes.
            return unsafe { retain_avx2(hay, runs, self.hex_too) };
        }
        runs.retain(|run| {
            let text = &hay[run.clone()];
            enough_base64(text) && (self.hex_too || !hex_alone(text))
        });
    }
}

/// [`WorthSearching::retain`] with [`worth_searching_avx2`] (one loop: its constants are
/// loaded once).
///
/// # Safety
/// The CPU has AVX2, BMI2 and POPCNT; `hay` holds 32 bytes at least.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
unsafe fn retain_avx2(hay: &[u8], runs: &mut Vec<Range<usize>>, hex_too: bool) {
    let mut kept = 0;
    for i in 0..runs.len() {
        let run = runs[i].clone();
        // SAFETY: as the caller promised.
        if unsafe { worth_searching_avx2(hay, run.clone(), hex_too) } {
            runs[kept] = run;
            kept += 1;
        }
    }
    runs.truncate(kept);
}

/// [`WorthSearching::run`] 32 bytes at a time: per 32 bytes of the run (the last 32 of
/// `hay` where fewer stand after the place), which bytes are above the space (counted) and
/// which lie outside each hash alphabet (by their two halves, each looking up the classes
/// it can belong to: digits, line ends, `-`, `a`-`f`, `A`-`F`).
///
/// # Safety
/// The CPU has AVX2, BMI2 and POPCNT; `hay` holds 32 bytes at least.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
#[inline]
unsafe fn worth_searching_avx2(hay: &[u8], run: Range<usize>, hex_too: bool) -> bool {
    use std::arch::x86_64::*;
    // Bit 0 digits, bit 1 LF and CR, bit 2 `-`, bit 3 `a`-`f`, bit 4 `A`-`F`.
    #[rustfmt::skip]
    const LOW: [u8; 16] = [
        0x01, 0x19, 0x19, 0x19, 0x19, 0x19, 0x19, 0x01,
        0x01, 0x01, 0x02, 0, 0, 0x06, 0, 0,
    ];
    #[rustfmt::skip]
    const HIGH: [u8; 16] = [0x02, 0, 0x04, 0x01, 0x10, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let table = |t: &[u8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast()));
    let (low, high, nibble) = (table(&LOW), table(&HIGH), _mm256_set1_epi8(0x0F));
    let (lower_ok, upper_ok) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(0x17));
    let (space, zero) = (_mm256_set1_epi8(b' ' as i8), _mm256_setzero_si256());
    let bits = |m: __m256i| _mm256_movemask_epi8(m) as u32;
    let mut seen = 0;
    // The run's bytes outside the lower-case (upper-case) hash alphabet, so far.
    let (mut not_lower, mut not_upper) = (u32::from(hex_too), u32::from(hex_too));
    let mut k = run.start;
    while k < run.end {
        let w = k.min(hay.len() - 32);
        // SAFETY: `w + 32 <= hay.len()`.
        let v = unsafe { _mm256_loadu_si256(hay.as_ptr().add(w).cast()) };
        // The run's bytes among the 32 from `w` (`k - w < 32`).
        let within = _bzhi_u32(u32::MAX << (k - w), (run.end - w).min(32) as u32);
        let up_to_space = bits(_mm256_cmpeq_epi8(_mm256_min_epu8(v, space), v));
        seen += (!up_to_space & within).count_ones() as usize;
        let classes = _mm256_and_si256(
            _mm256_shuffle_epi8(low, _mm256_and_si256(v, nibble)),
            _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)),
        );
        let outside = |ok: __m256i| bits(_mm256_cmpeq_epi8(_mm256_and_si256(classes, ok), zero));
        not_lower |= outside(lower_ok) & within;
        not_upper |= outside(upper_ok) & within;
        if seen >= MIN_BASE64_RUN && not_lower != 0 && not_upper != 0 {
            return true;
        }
        k = w + 32;
    }
    false
}

/// Finds the runs of base64 characters at least [`MIN_BASE64_RUN`] long, left to right, 64
/// bytes at a time (a run is reported once, whole, when it ends: perhaps past the part
/// looked at so far).
#[derive(Debug, Default)]
pub(super) struct Base64Runs {
    /// Where to go on from, and where the run of base64 characters that ends there starts.
    next: usize,
    start: usize,
    /// Whether the bytes looked at so far end in a line end or the blanks after one.
    indent: bool,
}

/// What a block of 64 bytes holds, one bit per byte (bit `i` for byte `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Classes {
    /// Run characters ([`is_run_char`]).
    run: u64,
    /// Line feeds.
    lf: u64,
    /// Spaces and tabs.
    blanks: u64,
}

/// How 64 bytes are classified (one way per instruction set).
trait Classify {
    /// The classes of the 64 bytes of `block`.
    ///
    /// # Safety
    /// The CPU has the instructions the implementation uses.
    unsafe fn classes(block: &[u8; 64]) -> Classes;
}

/// The classes of the bytes of `bytes` (64 at most), a byte at a time.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn classes_of(bytes: &[u8]) -> Classes {
    let bit = |i: usize, yes: bool| u64::from(yes) << i;
    bytes.iter().enumerate().fold(Classes { run: 0, lf: 0, blanks: 0 }, |c, (i, &b)| Classes {
        run: c.run | bit(i, is_run_char(b)),
        lf: c.lf | bit(i, b == b'\n'),
        blanks: c.blanks | bit(i, b == b' ' || b == b'\t'),
    })
}

/// A byte at a time ([`classes_of`]).
#[cfg(any(test, not(target_arch = "x86_64")))]
struct Portable;

#[cfg(any(test, not(target_arch = "x86_64")))]
impl Classify for Portable {
    unsafe fn classes(block: &[u8; 64]) -> Classes {
        classes_of(block)
    }
}

/// The classification every CPU of the target has.
#[cfg(target_arch = "x86_64")]
type Baseline = Sse2;
#[cfg(not(target_arch = "x86_64"))]
type Baseline = Portable;

/// 16 bytes at a time by range comparisons ([`linecut::base64_mask`]) and comparisons with
/// each of the other characters (SSE2 on x86_64).
#[cfg(target_arch = "x86_64")]
struct Sse2;

#[cfg(target_arch = "x86_64")]
impl Classify for Sse2 {
    #[inline]
    unsafe fn classes(block: &[u8; 64]) -> Classes {
        use std::arch::x86_64::*;
        let mut c = Classes { run: 0, lf: 0, blanks: 0 };
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: SSE2 is part of x86_64; 16 bytes of `block`, unaligned.
            let (lf, cr, blanks) = unsafe {
                let v = _mm_loadu_si128(chunk.as_ptr().cast());
                let is = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
                let bits = |m: __m128i| u64::from(_mm_movemask_epi8(m) as u32) << (16 * k);
                (bits(is(b'\n')), bits(is(b'\r')), bits(_mm_or_si128(is(b' '), is(b'\t'))))
            };
            c.run |= u64::from(linecut::base64_mask(chunk)) << (16 * k) | lf | cr;
            c.lf |= lf;
            c.blanks |= blanks;
        }
        c
    }
}

/// 32 bytes at a time: run characters by their two halves (nibbles), each half looking up
/// the classes of bytes it can belong to (a byte is one when its two lookups share a
/// class); line feeds and blanks by comparison.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Classify for Avx2 {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn classes(block: &[u8; 64]) -> Classes {
        use std::arch::x86_64::*;
        // Classes by high half: 0x0_ the line ends LF and CR, 0x2_ `+-/`, 0x3_ digits, 0x4_
        // and 0x6_ letters but `@` and the backquote, 0x5_ letters and `_`, 0x7_ letters
        // `p`-`z`; and LF alone in the top bit (read by the byte mask as it is).
        #[rustfmt::skip]
        const LOW: [u8; 16] = [
            0x1A, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E,
            0x1E, 0x1E, 0xBC, 0x05, 0x04, 0x25, 0x04, 0x0D,
        ];
        #[rustfmt::skip]
        const HIGH: [u8; 16] = [0xA0, 0, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];
        // By low half, the blank that has it (the space, the tab), else a byte that has not.
        #[rustfmt::skip]
        const BLANK: [u8; 16] = [b' ', 0, 0, 0, 0, 0, 0, 0, 0, b'\t', 0, 0, 0, 0, 0, 0];
        let table = |t: &[u8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast()));
        let (low, high, nibble) = (table(&LOW), table(&HIGH), _mm256_set1_epi8(0x0F));
        let blank = table(&BLANK);
        let bits = |m: __m256i| u64::from(_mm256_movemask_epi8(m) as u32);
        let half = |at: usize| {
            // SAFETY: 32 bytes of the 64 of `block`, unaligned.
            let v = _mm256_loadu_si256(block.as_ptr().add(at).cast());
            let lo = _mm256_shuffle_epi8(low, _mm256_and_si256(v, nibble));
            let hi = _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
            let both = _mm256_and_si256(lo, hi);
            let none = _mm256_cmpeq_epi8(both, _mm256_setzero_si256());
            // A byte is a blank when its low half looks it up (bytes from 0x80 look up 0).
            let blanks = _mm256_cmpeq_epi8(_mm256_shuffle_epi8(blank, v), v);
            (!bits(none) & 0xFFFF_FFFF, bits(both), bits(blanks))
        };
        let ((run0, lf0, bl0), (run1, lf1, bl1)) = (half(0), half(32));
        Classes { run: run0 | run1 << 32, lf: lf0 | lf1 << 32, blanks: bl0 | bl1 << 32 }
    }
}

/// The blanks that indent lines (a YAML block of wrapped base64): from a line end, the spaces
/// and tabs up to the line's first other character, given which of the 64 bytes are line
/// ends (LF) and which blanks. `carry`: whether the bytes before ended in a line end or such
/// blanks; set for the next block.
#[inline(always)]
fn indentation(Classes { lf, blanks, .. }: Classes, carry: &mut bool) -> u64 {
    let seeds = (lf << 1 | u64::from(*carry)) & blanks;
    // Adding a seed to a stretch of blanks clears the stretch from the seed on.
    let indent = (blanks.wrapping_add(seeds) ^ blanks) & blanks;
    *carry = (lf | indent) >> 63 != 0;
    indent
}

/// The places `i` where bits `i..i + MIN_BASE64_RUN` of `m` are all set, the bits going
/// round from the top to the bottom (rotations take one instruction fewer than shifts,
/// which copy first). Below `64 - MIN_BASE64_RUN`, as if they did not: a place above it
/// stands for a run that ends at the top and goes on at the bottom, which a gap at or
/// after it rules out.
#[inline(always)]
fn long_run_starts(m: u64) -> u64 {
    let m2 = m & m.rotate_right(1);
    let m4 = m2 & m2.rotate_right(2);
    let m8 = m4 & m4.rotate_right(4);
    let m16 = m8 & m8.rotate_right(8);
    m16 & m16.rotate_right(MIN_BASE64_RUN as u32 - 16)
}

impl Base64Runs {
    /// Looks at the bytes up to `to` at least (up to the end of `hay` where a run reaches
    /// it), calling `run(range)` for each run that ends there.
    pub(super) fn each(&mut self, hay: &[u8], to: usize, mut run: impl FnMut(Range<usize>)) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
        {
            // SAFETY: the CPU has AVX2, BMI2 and LZCNT.
            return unsafe { self.each_avx2(hay, to, &mut run) };
        }
        // SAFETY: the baseline classification needs no more than the target has (SSE2 is
        // part of x86_64).
        unsafe { self.each_by::<Baseline>(hay, to, &mut run) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,bmi2,lzcnt")]
    unsafe fn each_avx2(&mut self, hay: &[u8], to: usize, run: &mut impl FnMut(Range<usize>)) {
        // SAFETY: the caller checked the CPU has AVX2 (and the bit instructions).
        unsafe { self.each_by::<Avx2>(hay, to, run) }
    }

    /// [`Base64Runs::each`] with `C`'s classification: per block, the run going on from the
    /// last block ends at its first byte that is not base64, runs of at least
    /// [`MIN_BASE64_RUN`] between its first and last such bytes are found by shifts, and the
    /// next run starts after its last one. The last bytes of `hay` (fewer than 64) are a
    /// block with a byte that is not base64 after them.
    ///
    /// # Safety
    /// The CPU has the instructions `C` uses.
    #[inline(always)]
    unsafe fn each_by<C: Classify>(
        &mut self,
        hay: &[u8],
        to: usize,
        run: &mut impl FnMut(Range<usize>),
    ) {
        // In locals: the fields would be stored at every block, in case `run` panics.
        let (mut next, mut start, mut indent) = (self.next, self.start, self.indent);
        // Whole blocks: from `next` while it is before `to` and 64 bytes stand from there.
        let whole = to.min(hay.len().saturating_sub(63));
        while next < whole {
            let p = next;
            next = p + 64;
            // SAFETY: `p + 64 <= hay.len()` (`p < whole`): the 64 bytes from `p` are in
            // `hay`; and as the caller promised for `C`.
            let block = unsafe { &*hay.as_ptr().add(p).cast::<[u8; 64]>() };
            let classes = unsafe { C::classes(block) };
            let mask = classes.run | indentation(classes, &mut indent);
            // Most blocks end no long run and hold none: only the next run's start changes.
            // (A block of base64 alone goes on with the run: it has no first gap.)
            let (gaps, long) = (!mask, long_run_starts(mask));
            if p + gaps.trailing_zeros() as usize - start >= MIN_BASE64_RUN || long != 0 {
                if gaps != 0 {
                    start = block_runs(p, mask, gaps, long, start, run);
                }
            } else {
                start = p + 64 - gaps.leading_zeros() as usize;
            }
        }
        if next < to.min(hay.len()) {
            // The last bytes, fewer than 64, and a gap after them: classified in a copy
            // padded with NULs (no class).
            let tail = &hay[next..];
            let mut block = [0u8; 64];
            block[..tail.len()].copy_from_slice(tail);
            // SAFETY: as the caller promised for `C`.
            let classes = unsafe { C::classes(&block) };
            let mask =
                classes.run | indentation(classes, &mut indent) & (u64::MAX >> (64 - tail.len()));
            let gaps = !mask & u64::MAX >> (63 - tail.len());
            start = block_runs(next, mask, gaps, long_run_starts(mask), start, run);
            (next, start) = (hay.len(), start.min(hay.len()));
        }
        if next == hay.len() && start < hay.len() {
            if hay.len() - start >= MIN_BASE64_RUN {
                run(start..hay.len());
            }
            start = hay.len();
        }
        (self.next, self.start, self.indent) = (next, start, indent);
    }
}

/// The runs that end in the block at `p` (`mask` its base64 characters, `gaps` the others,
/// one at least, `long` the [`long_run_starts`] of `mask`) when the run going on into it
/// started at `start`: calls `run` for each long enough, and returns where the run going on
/// out of it starts.
#[cold]
#[inline(never)]
fn block_runs(
    p: usize,
    mask: u64,
    gaps: u64,
    long: u64,
    start: usize,
    run: &mut impl FnMut(Range<usize>),
) -> usize {
    let (first, last) = (gaps.trailing_zeros(), 63 - gaps.leading_zeros());
    if p + first as usize - start >= MIN_BASE64_RUN {
        run(start..p + first as usize);
    }
    // Between the first and last gaps, each run at least MIN_BASE64_RUN long.
    let mut long = long & (u64::MAX << first) & !(u64::MAX << last);
    while long != 0 {
        let s = long.trailing_zeros();
        let e = s + (!(mask >> s)).trailing_zeros();
        run(p + s as usize..p + e as usize);
        long &= u64::MAX << e;
    }
    p + last as usize + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_base64_are_found_whole_and_short_ones_skipped() {
        let run = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo";
        let short = "QUJDREVGR0hJSktMTU5";
        for before in 0..20 {
            let hay = format!("{}{run} x {short} y\n{run}", " ".repeat(before));
            let mut got = Vec::new();
            let mut runs = Base64Runs::default();
            // In two calls, as blocks of a larger input are looked at.
            runs.each(hay.as_bytes(), hay.len() / 2, |r| got.push((r.start, r.end)));
            runs.each(hay.as_bytes(), hay.len(), |r| got.push((r.start, r.end)));
            // The last run goes on back over the line end to the `y` before it.
            let want = [(before, before + run.len()), (hay.len() - run.len() - 2, hay.len())];
            assert_eq!(got, want, "{before}");
        }
        // Every run at least MIN_BASE64_RUN long, wherever it stands.
        for len in MIN_BASE64_RUN..MIN_BASE64_RUN + 20 {
            for before in 0..20 {
                let hay = format!("{}.{}.", ".".repeat(before), "A".repeat(len));
                let mut got = Vec::new();
                Base64Runs::default().each(hay.as_bytes(), hay.len(), |r| got.push(r));
                assert_eq!(
                    got,
                    vec![(before + 1, before + 1 + len)]
                        .into_iter()
                        .map(|(a, b)| a..b)
                        .collect::<Vec<_>>(),
                    "{len} {before}"
                );
                // At the very end of the input, and one character short of the minimum.
                let hay = format!("{}.{}", ".".repeat(before), "A".repeat(len));
                let mut got = Vec::new();
                Base64Runs::default()
                    .each(hay.as_bytes(), hay.len(), |r| got.push((r.start, r.end)));
                assert_eq!(got, [(before + 1, hay.len())], "{len} {before} at the end");
                let short = format!("{}.{}.", ".".repeat(before), "A".repeat(MIN_BASE64_RUN - 1));
                let mut got = Vec::new();
                Base64Runs::default().each(short.as_bytes(), short.len(), |r| got.push(r));
                assert!(got.is_empty(), "{before}: a run one short");
            }
        }
    }

    #[test]
    fn wrapped_base64_of_any_width_is_one_run() {
        let b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg";
        for width in 4..30 {
            for eol in ["\n", "\r\n", "\n    ", "\r\n\t\t"] {
                let lines: Vec<&str> =
                    b64.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).unwrap()).collect();
                let block = lines.join(eol);
                let hay = format!("data: |\n  {block}\n  kind: x\n");
                // The block's own lines, indented or not, make one run.
                let mut got = Vec::new();
                Base64Runs::default().each(hay.as_bytes(), hay.len(), |r| got.push(r));
                let at = hay.find(&block).unwrap();
                assert!(
                    got.iter().any(|r| r.start <= at && r.end >= at + block.len()),
                    "width {width} {eol:?}: {got:?}"
                );
            }
        }
    }

    /// The runs of `hay` one byte at a time: what [`Base64Runs`] must find.
    fn runs_one_by_one(hay: &[u8]) -> Vec<Range<usize>> {
        let mut runs = Vec::new();
        let mut start = 0;
        // Whether the bytes so far end in a line end or the blanks after one.
        let mut indent = false;
        for end in 0..=hay.len() {
            let blank_indent = end < hay.len() && indent && (hay[end] == b' ' || hay[end] == b'\t');
            if end < hay.len() {
                indent = hay[end] == b'\n' || blank_indent;
            }
            if end == hay.len() || !(is_run_char(hay[end]) || blank_indent) {
                if end - start >= MIN_BASE64_RUN {
                    runs.push(start..end);
                }
                start = end + 1;
            }
        }
        runs
    }

    /// The runs `C`'s classification finds in `hay`, looked at up to each of `tos` in turn,
    /// then to the end; after each call, every run that ends before that place is found.
    fn runs_by<C: Classify>(hay: &[u8], tos: &[usize]) -> Result<(), String> {
        let want = runs_one_by_one(hay);
        let mut got = Vec::new();
        let mut runs = Base64Runs::default();
        for &to in tos.iter().chain([&hay.len()]) {
            // SAFETY: the callers pass AVX2 only where the CPU has it.
            unsafe { runs.each_by::<C>(hay, to, &mut |r| got.push(r)) };
            let due = want.iter().filter(|r| r.end < to || r.end == hay.len() && to == hay.len());
            if got.len() < due.count() || !want.starts_with(&got) {
                return Err(format!("to {to}: {got:?}, want {want:?}"));
            }
        }
        (got == want).then_some(()).ok_or(format!("{got:?}, want {want:?}"))
    }

    /// [`runs_by`] with every classification this CPU has.
    fn runs_by_all(hay: &[u8], tos: &[usize]) -> Result<(), String> {
        runs_by::<Portable>(hay, tos).map_err(|e| format!("portable: {e}"))?;
        #[cfg(target_arch = "x86_64")]
        {
            runs_by::<Sse2>(hay, tos).map_err(|e| format!("sse2: {e}"))?;
            if std::is_x86_feature_detected!("avx2") {
                runs_by::<Avx2>(hay, tos).map_err(|e| format!("avx2: {e}"))?;
            }
        }
        Ok(())
    }

    #[test]
    fn every_classification_agrees_with_the_alphabet() {
        let check = |classes: unsafe fn(&[u8; 64]) -> Classes| {
            for b in 0..=255u8 {
                // Each byte's own classes, set at `at` in a block of `fill`.
                let want = |fill: u8, at: usize| {
                    let with = |yes: fn(u8) -> bool| {
                        let all = if yes(fill) { u64::MAX } else { 0 };
                        all & !(1 << at) | u64::from(yes(b)) << at
                    };
                    Classes {
                        run: with(is_run_char),
                        lf: with(|c| c == b'\n'),
                        blanks: with(|c| c == b' ' || c == b'\t'),
                    }
                };
                for at in 0..64 {
                    for fill in [b'Q', b' ', b'\n', b'.'] {
                        let mut block = [fill; 64];
                        block[at] = b;
                        // SAFETY: AVX2 is passed only where the CPU has it.
                        let got = unsafe { classes(&block) };
                        assert_eq!(got, want(fill, at), "byte {b} at {at} among {fill}");
                    }
                }
            }
        };
        check(Portable::classes);
        #[cfg(target_arch = "x86_64")]
        {
            check(Sse2::classes);
            if std::is_x86_feature_detected!("avx2") {
                check(Avx2::classes);
            }
        }
    }

    #[test]
    fn runs_of_every_length_are_found_at_every_place_of_a_block() {
        for len in MIN_BASE64_RUN - 3..MIN_BASE64_RUN + 70 {
            for before in 0..70 {
                for after in [0, 1, 2, 40] {
                    let mut hay = vec![b'.'; before + len + after];
                    hay[before..before + len].fill(b'z');
                    // Another run after it, one byte apart, and one at the very end.
                    hay.extend_from_slice(b"_");
                    hay.extend(std::iter::repeat_n(b'9', len));
                    let half = hay.len() / 2;
                    if let Err(e) = runs_by_all(&hay, &[before, half, half + 1]) {
                        panic!("len {len} before {before} after {after}: {e}");
                    }
                }
            }
        }
    }

    /// A run ending at the start of a block and one starting at its end are two runs, however
    /// long together ([`long_run_starts`] goes round from the top bits to the bottom ones).
    #[test]
    fn runs_at_both_ends_of_a_block_are_two() {
        for bottom in 0..50 {
            for top in (0..50).filter(|top| bottom + top < 64) {
                for (before, after) in [(0, 0), (0, 30), (5, 5), (30, 0), (22, 22)] {
                    let mut hay = vec![b'.'; 192];
                    hay[64 - before..64 + bottom].fill(b'A');
                    hay[128 - top..128 + after].fill(b'B');
                    for tos in [&[][..], &[64, 128], &[100]] {
                        if let Err(e) = runs_by_all(&hay, tos) {
                            panic!("bottom {bottom} top {top} {before} {after}: {e}");
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Random mixes of base64 runs (many about [`MIN_BASE64_RUN`] long) and other bytes,
        /// looked at in several calls.
        #[test]
        fn runs_are_found_as_one_byte_at_a_time(
            parts in proptest::collection::vec(
                (
                    proptest::prop_oneof![0usize..8, 18usize..30, 30usize..140],
                    proptest::collection::vec(proptest::sample::select(
                        b"ABCXYZabcxyz0189+-/_".to_vec()), 1..4),
                    proptest::collection::vec(proptest::sample::select(
                        b" .\n\t=@`[{:\x00\x7f\x80\xff".to_vec()), 1..3),
                ),
                0..12,
            ),
            mut tos in proptest::collection::vec(0usize..800, 0..4),
        ) {
            let mut hay = Vec::new();
            for (len, alphabet, gap) in &parts {
                hay.extend((0..*len).map(|i| alphabet[i % alphabet.len()]));
                hay.extend_from_slice(gap);
            }
            tos.sort_unstable();
            let result = runs_by_all(&hay, &tos);
            proptest::prop_assert!(result.is_ok(), "{:?}", result);
        }
    }

    #[test]
    fn hashes_and_uuids_are_hex_alone() {
        assert!(hex_alone(b"5ec87a171ac826a6fce48478dcb74f21345d2cce8038a39d5e0853964b50af03"));
        assert!(hex_alone(b"3772a077-0217-21a2-78f6-4f7fd633dbdd"));
        assert!(hex_alone(b"3772A077-0217-21A2-78F6-4F7FD633DBDD"));
        assert!(!hex_alone(b"3772a077-0217-21A2"), "both cases");
        assert!(!hex_alone(b"ZHQwYzAxLg"));
        // Every base64 form of the built-in rules' keywords holds a character outside it.
        let m = crate::matcher::Matcher::builtin();
        assert!(!m.search.hex_literal);
        assert!(m.encoded_signatures().iter().all(|(s, _)| !hex_alone(s.as_bytes())));
    }

    /// A run's line ends and indentation do not count toward the base64 characters an
    /// encoded token needs: words joined over indented lines are left out, wrapped base64
    /// of any width is not; the same whether told a byte at a time or 32 at a time,
    /// wherever the run stands in the text.
    #[test]
    fn runs_count_their_base64_characters_without_line_ends_and_indentation() {
        let words = b"\n                debug_assert\n                let";
        assert!(!enough_base64(words));
        for width in [4, 8, 16, 76] {
            for (chars, enough) in
                [(MIN_BASE64_RUN - 1, false), (MIN_BASE64_RUN, true), (200, true)]
            {
                let b64: Vec<u8> = (0..chars).map(|i| b"QUJDREVG"[i % 8]).collect();
                let lines: Vec<&[u8]> = b64.chunks(width).collect();
                for sep in [&b"\n"[..], b"\r\n", b"\n      ", b"\r\n\t\t"] {
                    let run = lines.join(sep);
                    let what = format!("{chars} chars, width {width}, {sep:?}");
                    assert_eq!(enough_base64(&run), enough, "{what}");
                    for (before, after) in [(0, 0), (1, 40), (40, 1), (7, 0)] {
                        let hay = [&b".".repeat(before)[..], &run, &b".".repeat(after)].concat();
                        let at = before..before + run.len();
                        assert_eq!(
                            WorthSearching::new(false).run(&hay, at),
                            enough,
                            "{what} {before}"
                        );
                    }
                }
            }
        }
    }

    /// What [`WorthSearching::run`] must tell, a byte at a time.
    fn worth_one_by_one(run: &[u8], hex_too: bool) -> bool {
        enough_base64(run) && (hex_too || !hex_alone(run))
    }

    #[test]
    fn hashes_and_uuids_are_not_worth_searching_unless_a_form_is_hex() {
        let sha = b"5ec87a171ac826a6fce48478dcb74f21345d2cce8038a39d5e0853964b50af03";
        let upper = sha.to_ascii_uppercase();
        let uuid = b"3772a077-0217-21a2-78f6-4f7fd633dbdd";
        // Wrapped over lines, with CR and indentation (the blanks are not hex).
        let wrapped = b"5ec87a171ac826a6fce4\r\n8478dcb74f21345d2cce\n8038a39d5e0853964b50af03";
        let indented = b"5ec87a171ac826a6fce4\n  8478dcb74f21345d2cce";
        let mixed = b"5ec87a171ac826a6fce48478DCB74F21345D2CCE";
        for (run, hex) in [
            (&sha[..], true),
            (&upper[..], true),
            (&uuid[..], true),
            (&wrapped[..], true),
            (&indented[..], false),
            (&mixed[..], false),
            (b"ZHQwYzAxLg5ec87a171ac826a6fce48478dcb74f2", false),
            (b"5ec87a171ac826a6fce48478dcb74f21345d2cce8038a39d5e08539_4b50af03", false),
        ] {
            let what = String::from_utf8_lossy(run);
            assert_eq!(hex_alone(run), hex, "{what}");
            for pad in [0, 3, 31, 33] {
                let hay = [&b" ".repeat(pad)[..], run, &b" ".repeat(pad)].concat();
                let at = pad..pad + run.len();
                assert_eq!(WorthSearching::new(false).run(&hay, at.clone()), !hex, "{what} {pad}");
                assert!(WorthSearching::new(true).run(&hay, at), "{what} {pad}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Runs of the bytes runs are made of (hash alphabets, other base64 characters, line
        /// ends, blanks), of every length about the minimum and longer, anywhere in the text
        /// (at its start and end too): 32 bytes at a time tells what a byte at a time does.
        #[test]
        fn worth_searching_agrees_with_one_byte_at_a_time(
            run in proptest::collection::vec(proptest::sample::select(
                b"0189abcfABCF-\n\r \tgzGZ+/_".to_vec()), 1..120),
            hexish in proptest::collection::vec(proptest::sample::select(
                b"0189abcdef-\n".to_vec()), 0..90),
            upper in proptest::bool::ANY,
            before in 0usize..40,
            after in 0usize..40,
            hex_too in proptest::bool::ANY,
        ) {
            // Mostly one hash alphabet, perhaps with other bytes among it.
            let hexish: Vec<u8> = hexish
                .iter()
                .map(|b| if upper { b.to_ascii_uppercase() } else { *b })
                .collect();
            for run in [&run[..], &hexish, &[&hexish[..], &run[..1]].concat()] {
                let hay = [&b"=".repeat(before)[..], run, &b"!".repeat(after)].concat();
                let at = before..before + run.len();
                let want = worth_one_by_one(run, hex_too);
                proptest::prop_assert_eq!(WorthSearching::new(hex_too).run(&hay, at.clone()), want);
                #[cfg(target_arch = "x86_64")]
                if hay.len() >= 32 && WorthSearching::new(hex_too).avx2 {
                    // SAFETY: the CPU has AVX2, BMI2 and POPCNT; `hay` holds 32 bytes.
                    let got = unsafe { worth_searching_avx2(&hay, at, hex_too) };
                    proptest::prop_assert_eq!(got, want);
                }
            }
        }
    }
}

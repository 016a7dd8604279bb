//! Base64 signatures cut by a line end: wrapped base64 (the `base64` tool at 76 columns, PEM
//! at 64, YAML block scalars) whose line end falls inside a keyword's signature hides it from
//! the prefilter. Wrapped lines end on whole 4-character groups, so a signature that crosses
//! a group boundary (`R0|M`, `k|dD` for `dt0`; more for base64 inside base64 and UTF-16) can
//! be cut there, and only there. One pass over the line ends looks for a line that ends with
//! the head of such a signature and a next line (after its indentation) that starts with its
//! tail, and decodes from the signature's group as the prefilter's hit would.

use super::*;

/// A signature that a line end at a group boundary can cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cut {
    /// The characters before the line end.
    head: Vec<u8>,
    /// The characters after it (and the indentation).
    tail: Vec<u8>,
    /// How far the signature stands from its group's start.
    back: usize,
}

/// The cuts of `signatures` (text, offset from its group's start; each pair once, as
/// [`Matcher::new`] collects them) at group boundaries, and the set of the last characters of
/// their heads (a quick test per line end). A cut is its signature split at one place, so
/// distinct signatures give distinct cuts: no set of those seen is needed (hashing each cut
/// cost more than the rest of the matcher's build).
pub(super) fn cuts_of(signatures: &[(String, usize)]) -> (Vec<Cut>, [bool; 256], CutIndex) {
    debug_assert!(
        signatures.iter().collect::<std::collections::HashSet<_>>().len() == signatures.len(),
        "each signature once"
    );
    let mut cuts: Vec<Cut> = Vec::new();
    let mut last = [false; 256];
    for (sig, back) in signatures {
        let s = sig.as_bytes();
        for k in 1..s.len() {
            if (back + k) % 4 != 0 {
                continue;
            }
            last[usize::from(s[k - 1])] = true;
            cuts.push(Cut { head: s[..k].to_vec(), tail: s[k..].to_vec(), back: *back });
        }
    }
    let index = CutIndex::new(&cuts);
    (cuts, last, index)
}

/// The cuts by the character before the line end and the one after it (with every
/// provider's keywords there are hundreds of cuts: each line end looks at the few that fit).
/// A sorted list, not a hash map: built with one sort, where a map hashed each cut; looked up
/// among the pairs of the same first character (a few dozen at most).
#[derive(Debug, Clone)]
pub(super) struct CutIndex {
    /// The pairs (last character of the head, first of the tail) as `first << 8 | second`,
    /// sorted.
    keys: Vec<u16>,
    /// Where the pairs of each first character start in `keys` (one more entry: the end).
    by_first: [u32; 257],
    /// Where each pair's cuts start in `cuts` (one more entry: the end).
    starts: Vec<usize>,
    /// The cuts' indexes, by pair, each pair's in their order.
    cuts: Vec<usize>,
    /// One bit per pair (`first << 8 | second`) that has cuts: most line ends after base64
    /// have none, told by one lookup.
    present: Box<[u64; 1024]>,
}

impl Default for CutIndex {
    fn default() -> CutIndex {
        CutIndex::new(&[])
    }
}

impl CutIndex {
    fn new(cuts: &[Cut]) -> CutIndex {
        // Each cut as one number, its pair above its index: one sort of plain numbers orders
        // them by pair, and by index within a pair.
        let mut order: Vec<u64> = cuts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pair = u64::from(c.head[c.head.len() - 1]) << 8 | u64::from(c.tail[0]);
                pair << 32 | i as u64
            })
            .collect();
        order.sort_unstable();
        let mut index = CutIndex {
            keys: Vec::new(),
            by_first: [0; 257],
            starts: Vec::new(),
            cuts: Vec::new(),
            present: Box::new([0; 1024]),
        };
        for (at, &n) in order.iter().enumerate() {
            let pair = (n >> 32) as u16;
            if index.keys.last() != Some(&pair) {
                index.keys.push(pair);
                index.starts.push(at);
                index.present[usize::from(pair >> 6)] |= 1 << (pair & 63);
            }
        }
        index.starts.push(order.len());
        index.cuts = order.iter().map(|&n| (n & 0xFFFF_FFFF) as usize).collect();
        for (first, start) in index.by_first.iter_mut().enumerate() {
            *start = index.keys.partition_point(|&k| usize::from(k >> 8) < first) as u32;
        }
        index
    }

    /// The cuts whose head ends with `key.0` and whose tail starts with `key.1`.
    #[inline]
    pub(super) fn get(&self, key: &(u8, u8)) -> Option<&[usize]> {
        let pair = u16::from(key.0) << 8 | u16::from(key.1);
        if self.present[usize::from(pair >> 6)] & 1 << (pair & 63) == 0 {
            return None;
        }
        self.find(pair)
    }

    /// The cuts of `pair` (`first << 8 | second`), looked up among those of its first
    /// character.
    #[inline(never)]
    fn find(&self, pair: u16) -> Option<&[usize]> {
        let first = usize::from(pair >> 8);
        let (from, to) = (self.by_first[first] as usize, self.by_first[first + 1] as usize);
        let k = from + self.keys[from..to].binary_search(&pair).ok()?;
        Some(&self.cuts[self.starts[k]..self.starts[k + 1]])
    }
}

/// Whether the `PROBE` bytes of `probe` are all base64 characters (a test per byte
/// mispredicts its branch on text, where most bytes are letters: measured a third slower).
pub(super) fn all_base64(probe: &[u8]) -> bool {
    base64_mask(probe) == 0xFFFF
}

/// Which of the first 16 bytes of `probe` are base64 characters, one bit each (bit `i` for
/// byte `i`): one comparison of the 16 bytes at once.
#[cfg(target_arch = "x86_64")]
pub(super) fn base64_mask(probe: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    assert!(probe.len() >= 16);
    // SAFETY: SSE2 is part of x86_64; the load reads 16 bytes that `probe` holds
    // (asserted above), unaligned.
    unsafe {
        let v = _mm_loadu_si128(probe.as_ptr().cast());
        let within = |x: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(x, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(x, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let is = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let letters = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
        let digits = within(v, b'0', b'9');
        let signs =
            _mm_or_si128(_mm_or_si128(is(b'+'), is(b'/')), _mm_or_si128(is(b'-'), is(b'_')));
        let ok = _mm_or_si128(_mm_or_si128(letters, digits), signs);
        _mm_movemask_epi8(ok) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn base64_mask(probe: &[u8]) -> u32 {
    probe[..16].iter().enumerate().map(|(i, &b)| u32::from(is_base64_char(b)) << i).sum()
}

/// Whether the `PROBE` bytes of `probe` hold two HTML character references' starts (`&#`):
/// a run of them (a token written wholly in references) holds two in every 16 bytes.
#[cfg(target_arch = "x86_64")]
fn has_references(probe: &[u8]) -> bool {
    use std::arch::x86_64::*;
    assert!(probe.len() >= 16);
    // SAFETY: as in `all_base64`: SSE2, 16 bytes that `probe` holds, unaligned.
    let (amp, hash) = unsafe {
        let v = _mm_loadu_si128(probe.as_ptr().cast());
        let at = |c: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8))) as u32;
        (at(b'&'), at(b'#'))
    };
    ((amp << 1) & hash).count_ones() >= 2
}

#[cfg(not(target_arch = "x86_64"))]
fn has_references(probe: &[u8]) -> bool {
    probe[..PROBE].windows(2).filter(|w| w == b"&#").count() >= 2
}

/// The first sample at or after `p` (a multiple of [`STRIDE`]) that the pass stops at: its
/// probe all base64 ([`all_base64`]) or, with `refs`, holding references
/// ([`has_references`]); or the first that is not before `to` or has no whole probe in
/// `hay`. And whether that probe is all base64. A sample at a time.
fn next_sample(hay: &[u8], mut p: usize, to: usize, refs: bool) -> (usize, bool) {
    while p < to && p + PROBE <= hay.len() {
        let probe = &hay[p..p + PROBE];
        if all_base64(probe) {
            return (p, true);
        }
        if refs && has_references(probe) {
            break;
        }
        p += STRIDE;
    }
    (p, false)
}

/// [`next_sample`] four samples at a time: their 64 bytes first tested for a byte below `+`
/// (none of those is base64; most probes of text hold one) and for references' starts, one
/// branch for the four; only where a probe may stop, told base64 or not by two table
/// lookups ([`not_base64`], on a nibble each: a third of the instructions of
/// [`base64_mask`]).
///
/// # Safety
/// The CPU has AVX2. (Not a `target_feature` function: inlined into one, so that the pass
/// makes no call per sample that stops; called from elsewhere, its intrinsics are calls.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn next_sample_avx2(hay: &[u8], p: usize, to: usize, refs: bool) -> (usize, bool) {
    if refs {
        next_sample_avx2_as::<true>(hay, p, to)
    } else {
        next_sample_avx2_as::<false>(hay, p, to)
    }
}

/// Which bytes of `v` (two probes, a 128-bit lane each) are not base64, a bit each: a byte is
/// base64 when the classes of its two nibbles share a bit (bit 0 `+-/`: high nibble 2; bit 1
/// digits: 3; bit 2 `A-O` and `a-o`: 4, 6; bit 3 `P-Z` and `p-z`: 5, 7; bit 4 `_`: 5).
///
/// # Safety
/// The CPU has AVX2 (inlined into a function that enables it, as [`next_sample_avx2`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn not_base64(v: std::arch::x86_64::__m256i) -> u32 {
    use std::arch::x86_64::*;
    #[rustfmt::skip]
    let low = _mm256_setr_epi8(
        10, 14, 14, 14, 14, 14, 14, 14, 14, 14, 12, 5, 4, 5, 4, 21,
        10, 14, 14, 14, 14, 14, 14, 14, 14, 14, 12, 5, 4, 5, 4, 21,
    );
    #[rustfmt::skip]
    let high = _mm256_setr_epi8(
        0, 0, 1, 2, 4, 24, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 1, 2, 4, 24, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0,
    );
    let nibble = _mm256_set1_epi8(0x0F);
    let lo = _mm256_and_si256(v, nibble);
    let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    let class = _mm256_and_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
    _mm256_movemask_epi8(_mm256_cmpeq_epi8(class, _mm256_setzero_si256())) as u32
}

/// Which bytes of `v` are below `+` (signed: every byte from 0x80 too), a bit each: none of
/// them is base64, and most probes of text hold one (a blank, a quote, a bracket).
///
/// # Safety
/// As [`not_base64`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn below_plus(v: std::arch::x86_64::__m256i) -> u32 {
    use std::arch::x86_64::*;
    _mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8(b'+' as i8), v)) as u32
}

/// The bytes of `v` (two probes) that are the `#` of a reference's start `&#`, all ones:
/// the byte shift stays within a lane, so a pair across two probes is not counted.
///
/// # Safety
/// As [`not_base64`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn reference_starts(v: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let amps = _mm256_slli_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'&' as i8)), 1);
    _mm256_and_si256(amps, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'#' as i8)))
}

/// [`next_sample_avx2`], with `REFS` for `refs` (no test of it per step).
///
/// # Safety
/// As [`next_sample_avx2`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn next_sample_avx2_as<const REFS: bool>(
    hay: &[u8],
    mut p: usize,
    to: usize,
) -> (usize, bool) {
    use std::arch::x86_64::*;
    const LANE_LOW: u64 = 0x0001_0001_0001_0001;
    const LANE_HIGH: u64 = 0x8000_8000_8000_8000;
    // The four probes from `p` lie within `hay` and before `to` while `p < last`.
    let last = to.min((hay.len() + 1).saturating_sub(PROBE)).saturating_sub(3 * STRIDE);
    while p < last {
        // SAFETY: the four probes lie within `hay` (`last`), read unaligned.
        let at = hay.as_ptr().add(p);
        let v0 = _mm256_loadu2_m128i(at.add(STRIDE).cast(), at.cast());
        let v1 = _mm256_loadu2_m128i(at.add(3 * STRIDE).cast(), at.add(2 * STRIDE).cast());
        let surely_other = u64::from(below_plus(v0)) | u64::from(below_plus(v1)) << 32;
        // A lane of no such byte: a probe that may be all base64; or some reference's start.
        let mut may_stop = surely_other.wrapping_sub(LANE_LOW) & !surely_other & LANE_HIGH;
        if REFS {
            let some = _mm256_or_si256(reference_starts(v0), reference_starts(v1));
            may_stop |= u64::from(_mm256_movemask_epi8(some) as u32);
        }
        if may_stop != 0 {
            let others = u64::from(not_base64(v0)) | u64::from(not_base64(v1)) << 32;
            let pairs = if REFS {
                let (r0, r1) = (reference_starts(v0), reference_starts(v1));
                u64::from(_mm256_movemask_epi8(r0) as u32)
                    | u64::from(_mm256_movemask_epi8(r1) as u32) << 32
            } else {
                0
            };
            for k in 0..4 {
                if (others >> (16 * k)) & 0xFFFF == 0 {
                    return (p + k * STRIDE, true);
                }
                if ((pairs >> (16 * k)) & 0xFFFF).count_ones() >= 2 {
                    return (p + k * STRIDE, false);
                }
            }
        }
        p += 4 * STRIDE;
    }
    next_sample(hay, p, to, REFS)
}

/// Where the pass of one input got to: the next sample, and the decodings kept.
#[derive(Default)]
pub(super) struct CutPass {
    next: usize,
    decodings: nested::Decodings,
}

/// Most blanks of indentation looked past for a cut signature's tail.
const MAX_INDENT: usize = 256;
/// The pass samples one byte in `STRIDE` and looks for `PROBE` base64 characters from there:
/// every run of at least `STRIDE + PROBE - 1` (63) characters holds a probe, so every line of
/// wrapped base64 64 or more characters wide is seen, while clean text costs a lookup or a few
/// per sample (measured: a pass over every line end made clean text twice as slow).
const STRIDE: usize = 48;
const PROBE: usize = 16;

/// The first sample after `line_end`, which is after sample `p0`: the next multiple of
/// [`STRIDE`] after it, counted from `p0` when near (a division costs more).
#[inline]
fn next_sample_after(p0: usize, line_end: usize) -> usize {
    if line_end - p0 < 4 * STRIDE {
        let mut p = p0 + STRIDE;
        while p <= line_end {
            p += STRIDE;
        }
        p
    } else {
        (line_end + 1).next_multiple_of(STRIDE)
    }
}

/// The first line end (`\n`, or the `\\` of an escaped one) at or after `from`, or the end
/// of `hay`.
fn line_end(hay: &[u8], from: usize) -> usize {
    memchr::memchr2(b'\n', b'\\', &hay[from..]).map_or(hay.len(), |k| from + k)
}

/// [`line_end`], 32 bytes at a time for the first 64 (a line of wrapped base64 ends within
/// them, and memchr's setup costs more than the search there).
///
/// # Safety
/// The CPU has AVX2. (Inlined, as [`next_sample_avx2`].)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn line_end_avx2(hay: &[u8], from: usize) -> usize {
    use std::arch::x86_64::*;
    let (lf, backslash) = (_mm256_set1_epi8(b'\n' as i8), _mm256_set1_epi8(b'\\' as i8));
    let mut at = from;
    while at + 32 <= hay.len() && at < from + 64 {
        // SAFETY: the 32 bytes lie within `hay` (the loop's condition), read unaligned.
        let v = _mm256_loadu_si256(hay.as_ptr().add(at).cast());
        let ends = _mm256_or_si256(_mm256_cmpeq_epi8(v, lf), _mm256_cmpeq_epi8(v, backslash));
        let mask = _mm256_movemask_epi8(ends) as u32;
        if mask != 0 {
            return at + mask.trailing_zeros() as usize;
        }
        at += 32;
    }
    line_end(hay, at)
}

/// [`next_sample`] where there is no AVX2 (never called there).
#[cfg(not(target_arch = "x86_64"))]
unsafe fn next_sample_avx2(hay: &[u8], p: usize, to: usize, refs: bool) -> (usize, bool) {
    next_sample(hay, p, to, refs)
}

/// [`line_end`] where there is no AVX2 (never called there).
#[cfg(not(target_arch = "x86_64"))]
unsafe fn line_end_avx2(hay: &[u8], from: usize) -> usize {
    line_end(hay, from)
}

impl super::Matcher {
    /// Every line end of `hay` (LF, CRLF, and the escapes `\n`, `\r\n` of JSON and YAML
    /// strings) after a run of base64 at least [`MIN_WRAPPED_WIDTH`] characters long that
    /// cuts a signature: decodes from that signature's group, as [`Matcher::base64_at`] does
    /// for one the prefilter found.
    /// Samples up to `to` (runs found go on past it), from where `pass` got to.
    #[inline(never)]
    pub(super) fn cut_signatures<H: Found>(
        &self,
        hay: &[u8],
        to: usize,
        depth: u8,
        pass: &mut CutPass,
        out: &mut Vec<H>,
    ) {
        if self.cuts.is_empty() || depth >= MAX_DEPTH {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { self.cut_signatures_avx2(hay, to, depth, pass, out) };
        }
        // SAFETY: without AVX2.
        unsafe { self.cut_signatures_with::<false, H>(hay, to, depth, pass, out) };
    }

    /// [`Matcher::cut_signatures`] with the samples and line ends found with AVX2, in one
    /// function (a call per sample that stops cost as much as the samples between).
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn cut_signatures_avx2<H: Found>(
        &self,
        hay: &[u8],
        to: usize,
        depth: u8,
        pass: &mut CutPass,
        out: &mut Vec<H>,
    ) {
        // SAFETY: the CPU has AVX2 (the caller's contract).
        unsafe { self.cut_signatures_with::<true, H>(hay, to, depth, pass, out) };
    }

    /// The pass of [`Matcher::cut_signatures`], the samples and line ends found with AVX2
    /// when `AVX2` ([`next_sample_avx2`], [`line_end_avx2`]: inlined into the caller that
    /// enables it), else [`next_sample`] and [`line_end`].
    ///
    /// # Safety
    /// With `AVX2`, the CPU has AVX2.
    #[inline(always)]
    unsafe fn cut_signatures_with<const AVX2: bool, H: Found>(
        &self,
        hay: &[u8],
        to: usize,
        depth: u8,
        pass: &mut CutPass,
        out: &mut Vec<H>,
    ) {
        let decodings = &mut pass.decodings;
        let p = &mut pass.next;
        while *p < to && *p + PROBE <= hay.len() {
            // Most samples of clean text are neither base64 nor references: passed over in a
            // tight loop.
            let (p0, base64) = if AVX2 {
                // SAFETY: the CPU has AVX2 (the caller's contract).
                unsafe { next_sample_avx2(hay, *p, to, depth == 0) }
            } else {
                next_sample(hay, *p, to, depth == 0)
            };
            *p = p0;
            if p0 >= to || p0 + PROBE > hay.len() {
                break;
            }
            if !base64 {
                *p += STRIDE;
                *p = self.entities_at(hay, p0, depth, out).next_multiple_of(STRIDE).max(*p);
                continue;
            }
            // The end of the line (or of what is searched): only the group before it is
            // looked at here, the decoding checks the rest. (The probe holds none.)
            let line_end = if AVX2 {
                // SAFETY: as above.
                unsafe { line_end_avx2(hay, p0 + PROBE) }
            } else {
                line_end(hay, p0 + PROBE)
            };
            *p = next_sample_after(p0, line_end);
            if depth == 0 {
                self.deep_base64(hay, p0, line_end, decodings, out);
            }
            let rest = &hay[line_end..];
            let (end, brk) = if rest.starts_with(b"\n") {
                if line_end > 0 && hay[line_end - 1] == b'\r' {
                    (line_end - 1, 2)
                } else {
                    (line_end, 1)
                }
            } else if rest.starts_with(b"\\n") {
                (line_end, 2)
            } else if rest.starts_with(b"\\r\\n") {
                (line_end, 4)
            } else {
                continue;
            };
            if end < p0 + 8 || !self.cut_last[usize::from(hay[end - 1])] {
                continue;
            }
            let rest = &hay[end..];
            let indent = rest[brk..]
                .iter()
                .take(MAX_INDENT)
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            let after = &rest[brk + indent..];
            // The pair first (one lookup rules out most line ends), then the characters.
            let Some(&first) = after.first() else { continue };
            let Some(fitting) = self.cut_index.get(&(hay[end - 1], first)) else {
                continue;
            };
            if !hay[end - 8..end].iter().all(|&b| is_base64_char(b)) {
                continue;
            }
            for c in fitting.iter().map(|&i| &self.cuts[i]) {
                let group_len = c.back + c.head.len();
                if hay[..end].ends_with(&c.head) && after.starts_with(&c.tail) {
                    self.base64_at(hay, end - group_len, c.back, depth, decodings, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use crate::matcher::Matcher;

    const TOKEN: &str = "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT"; // tokenguard:allow

    fn wrap(s: &str, w: usize) -> String {
        let lines: Vec<&str> =
            s.as_bytes().chunks(w).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("data: |\n  {}\n", lines.join("\n  "))
    }

    #[test]
    fn the_probe_agrees_with_the_alphabet() {
        for b in 0..=255u8 {
            for at in 0..16 {
                let mut probe = *b"QUJDREVGR0hJSktM";
                probe[at] = b;
                let want = crate::matcher::is_base64_char(b);
                assert_eq!(super::all_base64(&probe), want, "byte {b} at {at}");
            }
        }
    }

    /// The sampling stops at the same samples, and tells them the same, a sample at a time
    /// and (with AVX2) four at a time, as testing each sample's probe does: over text mixing
    /// base64 runs, references, other bytes and line ends, from every sample, up to several
    /// limits, with and without references.
    #[test]
    fn samples_are_told_alike_one_and_four_at_a_time() {
        use super::{all_base64, has_references, next_sample, PROBE, STRIDE};
        let mut state: u64 = 7;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 33) % n
        };
        let pieces: [&[u8]; 8] = [
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3",
            b"&#100;&#116;&#48;&#99;",
            b"some text, with spaces: and (signs)!\n",
            b"a+b/c-d_e",
            b"\r\n  ",
            b"&amp;#&#",
            &[0x80, 0xC3, 0xA9, 0xFF, 0, b'=', b'@', b'[', b'`', b'{'],
            b"0123456789abcdefABCDEF",
        ];
        // First a probe ending in `&` and, a stride on, one starting with `#` and holding
        // one reference: no probe holds two (the two probes are side by side when read four
        // at a time).
        let mut hay = [[b'.'; 15].as_slice(), b"&", &[b'.'; 32], b"#&#", &[b'.'; 13]].concat();
        while hay.len() < 20_000 {
            let piece = pieces[next(8) as usize];
            let cut = next(piece.len() as u64 + 1) as usize;
            hay.extend_from_slice(&piece[..cut.max(1)]);
        }
        let reference = |mut p: usize, to: usize, refs: bool| {
            while p < to && p + PROBE <= hay.len() {
                let probe = &hay[p..p + PROBE];
                if all_base64(probe) {
                    return (p, true);
                }
                if refs && has_references(probe) {
                    break;
                }
                p += STRIDE;
            }
            (p, false)
        };
        let (mut stops, mut base64) = (0, 0);
        for refs in [false, true] {
            for to in [hay.len(), hay.len() - 7, 9_999, 4_800, 100] {
                let mut p = 0;
                while p < to {
                    let want = reference(p, to, refs);
                    assert_eq!(next_sample(&hay, p, to, refs), want, "from {p} to {to}");
                    #[cfg(target_arch = "x86_64")]
                    if std::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2.
                        let got = unsafe { super::next_sample_avx2(&hay, p, to, refs) };
                        assert_eq!(got, want, "from {p} to {to}");
                    }
                    stops += 1;
                    base64 += usize::from(want.1);
                    p += STRIDE;
                }
            }
        }
        // Both kinds of stop were met.
        assert!(base64 > 100 && stops - base64 > 100, "{stops} {base64}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Random runs of base64 (about a probe long and longer), references' starts and the
        /// bytes around `+` that the quick test tells apart: every sample told as the
        /// byte-at-a-time reference tells it, a sample and four at a time.
        #[test]
        fn samples_are_told_as_the_reference_tells_them(
            parts in proptest::collection::vec(
                (
                    proptest::prop_oneof![0usize..4, 12usize..20, 20usize..90],
                    proptest::collection::vec(proptest::sample::select(
                        b"AZaz09+-/_".to_vec()), 1..4),
                    proptest::collection::vec(proptest::sample::select(
                        b"&#&#;*,. \n=@`[{:\x00\x7f\x80\xff".to_vec()), 1..5),
                ),
                0..24,
            ),
            to in 0usize..2000,
            refs: bool,
        ) {
            let mut hay = Vec::new();
            for (len, alphabet, gap) in &parts {
                hay.extend((0..*len).map(|i| alphabet[i % alphabet.len()]));
                hay.extend_from_slice(gap);
            }
            let reference = |mut p: usize| {
                while p < to && p + super::PROBE <= hay.len() {
                    let probe = &hay[p..p + super::PROBE];
                    if probe.iter().all(|&b| crate::matcher::is_base64_char(b)) {
                        return (p, true);
                    }
                    if refs && probe.windows(2).filter(|w| w == b"&#").count() >= 2 {
                        break;
                    }
                    p += super::STRIDE;
                }
                (p, false)
            };
            for p in (0..hay.len().max(to)).step_by(super::STRIDE) {
                let want = reference(p);
                proptest::prop_assert_eq!(super::next_sample(&hay, p, to, refs), want);
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    let got = unsafe { super::next_sample_avx2(&hay, p, to, refs) };
                    proptest::prop_assert_eq!(got, want, "from {}", p);
                }
            }
        }
    }

    /// The line end found 32 bytes at a time (with AVX2) is the first `\n` or `\\`, as
    /// memchr finds it: from every place of text with line ends near and far apart (more
    /// than the 64 bytes looked at before memchr), and none at the end.
    #[test]
    fn line_ends_are_found_alike() {
        let mut hay = Vec::new();
        for gap in [0, 1, 5, 31, 32, 33, 63, 64, 65, 100, 200] {
            hay.extend(std::iter::repeat_n(b'A', gap));
            hay.push(if gap % 2 == 0 { b'\n' } else { b'\\' });
        }
        hay.extend([b'x'; 90]);
        for from in 0..=hay.len() {
            let want = hay[from..].iter().position(|&b| b == b'\n' || b == b'\\');
            let want = want.map_or(hay.len(), |k| from + k);
            assert_eq!(super::line_end(&hay, from), want, "from {from}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                assert_eq!(unsafe { super::line_end_avx2(&hay, from) }, want, "from {from}");
            }
        }
    }

    /// The first sample after a line end is the next multiple of the stride after it, from
    /// every sample and line end near and far.
    #[test]
    fn the_sample_after_a_line_end() {
        use super::STRIDE;
        for p0 in (0..20 * STRIDE).step_by(STRIDE) {
            for line_end in p0 + 16..p0 + 10 * STRIDE {
                let want = (line_end + 1).next_multiple_of(STRIDE);
                assert_eq!(super::next_sample_after(p0, line_end), want, "{p0} {line_end}");
            }
        }
    }

    /// The index lists, for each pair (head's last character, tail's first), exactly the cuts
    /// with that pair, in their order; no other pair.
    #[test]
    fn the_cut_index_finds_each_pair_cuts_in_order() {
        let (cuts, last, index) = super::cuts_of(&crate::matcher::BASE64_SIGNATURES);
        assert!(cuts.len() > 100);
        let mut want: std::collections::BTreeMap<(u8, u8), Vec<usize>> = Default::default();
        for (i, c) in cuts.iter().enumerate() {
            want.entry((c.head[c.head.len() - 1], c.tail[0])).or_default().push(i);
            assert!(last[usize::from(c.head[c.head.len() - 1])]);
        }
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(index.get(&(a, b)), want.get(&(a, b)).map(Vec::as_slice), "{a} {b}");
            }
        }
    }

    /// Base64 of `x` repeated, then the token (in UTF-16 too, and nested), wrapped at 64 and
    /// 76 columns: found at every length of the text before it, also where a line end cuts
    /// the keyword's signature.
    #[test]
    fn wrapped_tokens_are_found_wherever_a_line_end_falls() {
        let m = Matcher::builtin();
        let mut missed = Vec::new();
        for w in [64, 76] {
            for n in 0..200 {
                let plain = format!("{}:{TOKEN}\n", "x".repeat(n));
                let utf16: Vec<u8> = plain.encode_utf16().flat_map(u16::to_le_bytes).collect();
                let one = STANDARD.encode(&plain);
                let nested = STANDARD.encode(format!("auth: {one}\n"));
                for (kind, enc) in
                    [("one", one.clone()), ("nested", nested), ("utf16", STANDARD.encode(utf16))]
                {
                    if m.find(wrap(&enc, w).as_bytes()).is_empty() {
                        missed.push((kind, w, n));
                    }
                }
            }
        }
        assert!(missed.is_empty(), "{missed:?}");
    }
}

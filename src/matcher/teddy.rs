//! The keywords' SIMD search without regard to ASCII case, in one pass over the text as
//! written (Teddy's idea, as in Hyperscan and the aho-corasick crate).
//!
//! Each keyword's first three bytes go to one of 24 buckets; two tables per byte and set of 8
//! buckets (low and high half of the byte, 16 entries each) say which buckets admit it. A
//! letter's two cases differ in the high half alone, so the high table admits both. Per 32 places of the text: three
//! loads (at the place and the two after), each looked up half by half, the lookups ANDed: a
//! bit left standing is a place where a bucket's three bytes may start. Only those places
//! look up the keywords that start with their three bytes (a small hash table) and compare
//! them, eight bytes at a time. Keywords that share their first two bytes share a bucket;
//! buckets are then merged two at a time, the pair that admits fewest places of source code
//! (by byte frequencies) first, down to 24.
//!
//! One pass over the text as written replaced three packed searches over a lower-cased copy
//! (callgrind, 5 MB of real source code: 29M instructions in the searches and 5M copying,
//! now 10M and 4M confirming candidates: one place in 170).

use std::ops::Range;

/// Sets of eight buckets (one bit each in a byte). Two sets (16 buckets) cost a third more
/// instructions per byte than one, but half the candidates (5 MB of clean text: 36,000
/// against 80,000, of which 20,000 keywords), each a few mispredicted branches: CPU time
/// 7-10% less on clean text and real source code. With every provider's keywords (some 50
/// two-byte starts), 16 buckets merged starts whose halves cross into common words
/// (`ses` of `session` passed a bucket of `sec`, `shp` and `sk-`: a fifth of the candidates
/// of gen.py's clean text); three sets took 6% less CPU time there, the same on real source
/// code, and four sets no less than three (same runs, 21 each).
const SETS: usize = 3;
const BUCKETS: usize = 8 * SETS;
/// Bytes of each keyword in the tables.
const HEAD: usize = 3;
/// Places per step (one AVX2 register).
const STEP: usize = 32;
/// Most distinct two-byte starts: the merge of buckets looks at every pair of them.
const MOST_FAMILIES: usize = 64;

/// What the pass saw besides keywords, for the searches that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Marks {
    /// A NUL byte at one of the places looked at or the one after it (perhaps also a little
    /// further on): the UTF-16 forms' search needs one.
    pub nul: bool,
    /// An `=` at one of the places with a CR or LF after it: the search for keywords cut by
    /// quoted-printable soft breaks needs one.
    pub soft_break: bool,
}

/// The search: see the module's documentation.
#[derive(Debug, Clone)]
pub(super) struct Teddy {
    /// For bucket set `s` and keyword byte `k`: `tables[s * HEAD + k]` = (low half, high half)
    /// tables, one bit per bucket of the set.
    tables: [([u8; 16], [u8; 16]); SETS * HEAD],
    /// The keywords by their first three bytes.
    by_start: ByStart,
    keywords: Vec<Keyword>,
}

/// A keyword, ready for comparing eight bytes at once.
#[derive(Debug, Clone)]
struct Keyword {
    /// The keyword (lower-case).
    bytes: Box<[u8]>,
    /// Its first eight bytes (fewer: zero-padded), as a little-endian word.
    head: u64,
    /// Which bytes of `head` belong to it.
    mask: u64,
    /// 0x20 at its letters: a byte of the text ORed with it is lower-cased there.
    fold: u64,
}

impl Keyword {
    fn new(bytes: &[u8]) -> Keyword {
        let mut head = [0u8; 8];
        let mut mask = [0u8; 8];
        let mut fold = [0u8; 8];
        for (i, &b) in bytes.iter().take(8).enumerate() {
            head[i] = b;
            mask[i] = 0xFF;
            fold[i] = if b.is_ascii_lowercase() { 0x20 } else { 0 };
        }
        Keyword {
            bytes: bytes.into(),
            head: u64::from_le_bytes(head),
            mask: u64::from_le_bytes(mask),
            fold: u64::from_le_bytes(fold),
        }
    }

    /// Whether the keyword stands at `at` in `hay`, in any case.
    #[inline(always)]
    fn at(&self, hay: &[u8], at: usize) -> bool {
        let n = self.bytes.len();
        match hay.get(at..at + 8) {
            Some(word) => {
                let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
                // A letter of the keyword admits the text's byte in either case: `x | 0x20`
                // is the lower-case letter only for that letter's two cases.
                (w | self.fold) & self.mask == self.head
                    && (n <= 8
                        || hay
                            .get(at + 8..at + n)
                            .is_some_and(|t| t.eq_ignore_ascii_case(&self.bytes[8..])))
            }
            None => hay.get(at..at + n).is_some_and(|t| t.eq_ignore_ascii_case(&self.bytes)),
        }
    }
}

impl Teddy {
    /// The search for `keywords` (lower-case, each at least three bytes, their first three
    /// printable ASCII), where the CPU can run it (AVX2) and the keywords' starts are few
    /// enough; `None` otherwise.
    pub(super) fn new(keywords: &[&[u8]]) -> Option<Teddy> {
        if !avx2() || keywords.is_empty() {
            return None;
        }
        let fits = |k: &[u8]| {
            k.len() >= HEAD
                && k[..HEAD].iter().all(|&b| (0x20..0x7F).contains(&b) && !b.is_ascii_uppercase())
        };
        if !keywords.iter().all(|k| fits(k)) {
            return None;
        }
        let buckets = assign(keywords)?;
        let mut tables = [([0u8; 16], [0u8; 16]); SETS * HEAD];
        for (b, members) in buckets.iter().enumerate() {
            let (set, bit) = (b / 8, 1u8 << (b % 8));
            for &k in members.iter() {
                for (i, &byte) in keywords[k as usize][..HEAD].iter().enumerate() {
                    let (low, high) = &mut tables[set * HEAD + i];
                    low[usize::from(byte & 0x0F)] |= bit;
                    high[usize::from(byte >> 4)] |= bit;
                    // A letter's upper case differs in the high half alone (0x20 less).
                    if byte.is_ascii_lowercase() {
                        high[usize::from((byte - 0x20) >> 4)] |= bit;
                    }
                }
            }
        }
        Some(Teddy {
            tables,
            by_start: ByStart::new(keywords),
            keywords: keywords.iter().map(|k| Keyword::new(k)).collect(),
        })
    }

    /// Calls `hit(start, keyword)` for every place in `hay` within `starts` where a keyword
    /// starts, in any case, left to right: the longest keyword standing there (a keyword
    /// may end past `starts`, up to the end of `hay`). Returns what else it saw at those
    /// places ([`Marks`]).
    pub(super) fn each(
        &self,
        hay: &[u8],
        starts: Range<usize>,
        mut hit: impl FnMut(usize, usize),
    ) -> Marks {
        let starts = starts.start..starts.end.min(hay.len());
        if starts.is_empty() {
            return Marks::default();
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Teddy is built only where the CPU has AVX2 (`new`).
        unsafe {
            self.each_avx2(hay, starts, &mut hit)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("built only with AVX2: {starts:?}");
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn each_avx2(
        &self,
        hay: &[u8],
        starts: Range<usize>,
        hit: &mut impl FnMut(usize, usize),
    ) -> Marks {
        use std::arch::x86_64::*;
        let table = |t: &[u8; 16]| {
            // SAFETY: 16 bytes of `t`, unaligned.
            _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(t.as_ptr().cast()) })
        };
        let lows: [__m256i; SETS * HEAD] = std::array::from_fn(|i| table(&self.tables[i].0));
        let highs: [__m256i; SETS * HEAD] = std::array::from_fn(|i| table(&self.tables[i].1));
        let nibble = _mm256_set1_epi8(0x0F);
        let zero = _mm256_setzero_si256();
        let (equals, lf, cr) = (
            _mm256_set1_epi8(b'=' as i8),
            _mm256_set1_epi8(b'\n' as i8),
            _mm256_set1_epi8(b'\r' as i8),
        );
        // Where a NUL byte stands among the places looked at and the one after each, and
        // where an `=` with a line end after it.
        let (mut nul, mut soft) = (zero, zero);
        // The buckets that admit the 32 places from `p` on (`p` + 34 bytes readable), which
        // of the places or the one after each hold a NUL byte, and which an `=` before a
        // line end.
        let step = |p: *const u8| {
            let mut sets = [_mm256_set1_epi8(-1); SETS];
            let (mut first, mut nuls, mut softs) = (zero, zero, zero);
            for k in 0..HEAD {
                // SAFETY: the caller lets 32 bytes be read from `p + k` (k < 3).
                let v = unsafe { _mm256_loadu_si256(p.add(k).cast()) };
                if k == 0 {
                    first = v;
                } else if k == 1 {
                    nuls = _mm256_cmpeq_epi8(_mm256_min_epu8(first, v), zero);
                    let line_end =
                        _mm256_or_si256(_mm256_cmpeq_epi8(v, lf), _mm256_cmpeq_epi8(v, cr));
                    softs = _mm256_and_si256(_mm256_cmpeq_epi8(first, equals), line_end);
                }
                let lo = _mm256_and_si256(v, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
                for (s, set) in sets.iter_mut().enumerate() {
                    let i = s * HEAD + k;
                    let m = _mm256_and_si256(
                        _mm256_shuffle_epi8(lows[i], lo),
                        _mm256_shuffle_epi8(highs[i], hi),
                    );
                    *set = _mm256_and_si256(*set, m);
                }
            }
            (sets, nuls, softs)
        };
        let none = |sets: &[__m256i; SETS]| {
            let any = sets.iter().fold(_mm256_setzero_si256(), |a, &s| _mm256_or_si256(a, s));
            !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(any, _mm256_setzero_si256())) as u32)
        };
        let mut at = starts.start;
        while at < starts.end && at + STEP + HEAD - 1 <= hay.len() {
            // SAFETY: `at + 34 <= hay.len()`.
            let (sets, nuls, softs) = step(unsafe { hay.as_ptr().add(at) });
            nul = _mm256_or_si256(nul, nuls);
            soft = _mm256_or_si256(soft, softs);
            let found = none(&sets);
            if found != 0 {
                self.confirm(hay, at, found, starts.end, hit);
            }
            at += STEP;
        }
        if at < starts.end {
            // The last places: their bytes copied into a buffer padded with NULs (which no
            // bucket admits: the tables hold printable bytes only).
            let mut padded = [0u8; 2 * STEP];
            let rest = &hay[at..];
            padded[..rest.len()].copy_from_slice(rest);
            // (The padding's NULs are not the text's; an `=` there has its next byte, if
            // the text has one.)
            let (sets, _, softs) = step(padded.as_ptr());
            soft = _mm256_or_si256(soft, softs);
            if memchr::memchr(0, rest).is_some() {
                nul = _mm256_set1_epi8(-1);
            }
            let found = none(&sets);
            if found != 0 {
                self.confirm(hay, at, found, starts.end, hit);
            }
        }
        Marks { nul: _mm256_movemask_epi8(nul) != 0, soft_break: _mm256_movemask_epi8(soft) != 0 }
    }

    /// The keywords that stand at the places of `found` (bits from `at` on).
    #[inline(never)]
    fn confirm(
        &self,
        hay: &[u8],
        at: usize,
        mut found: u32,
        end: usize,
        hit: &mut impl FnMut(usize, usize),
    ) {
        while found != 0 {
            let place = at + found.trailing_zeros() as usize;
            found &= found - 1;
            if place >= end {
                break;
            }
            let Some(head) = hay.get(place..place + HEAD) else { break };
            // Those that start so, longest first: the first standing is the longest there.
            let starting = self.by_start.get(key(head.iter().map(u8::to_ascii_lowercase)));
            if let Some(&k) = starting.iter().find(|&&k| self.keywords[k as usize].at(hay, place)) {
                hit(place, k as usize);
            }
        }
    }
}

/// The key of a keyword's first three bytes (lower-case) in [`ByStart`].
#[inline(always)]
fn key(head: impl Iterator<Item = u8>) -> u32 {
    head.take(HEAD).enumerate().fold(0, |k, (i, b)| k | u32::from(b) << (8 * i))
}

/// The keywords by their first three bytes: a table open at each slot, probed in order.
#[derive(Debug, Clone)]
struct ByStart {
    /// Per slot: 0 (empty), or one more than the index in `keys` and `lists`.
    slots: Box<[u32]>,
    keys: Vec<u32>,
    /// The keywords (indexes) starting with each key, longest first.
    lists: Vec<Box<[u32]>>,
    bits: u32,
}

impl ByStart {
    fn new(keywords: &[&[u8]]) -> ByStart {
        let mut keys: Vec<u32> = Vec::new();
        let mut lists: Vec<Vec<u32>> = Vec::new();
        for (i, k) in keywords.iter().enumerate() {
            let key = key(k.iter().copied());
            match keys.iter().position(|&x| x == key) {
                Some(p) => lists[p].push(i as u32),
                None => {
                    keys.push(key);
                    lists.push(vec![i as u32]);
                }
            }
        }
        // At most a quarter full: probes end after a slot or two.
        let bits = (keys.len() * 4).next_power_of_two().max(64).trailing_zeros();
        let mut slots = vec![0u32; 1 << bits].into_boxed_slice();
        for (i, &key) in keys.iter().enumerate() {
            let mut s = slot(key, bits);
            while slots[s] != 0 {
                s = (s + 1) & (slots.len() - 1);
            }
            slots[s] = i as u32 + 1;
        }
        let lists = lists
            .into_iter()
            .map(|mut l| {
                l.sort_by_key(|&k| std::cmp::Reverse(keywords[k as usize].len()));
                l.into_boxed_slice()
            })
            .collect();
        ByStart { slots, keys, lists, bits }
    }

    /// The keywords that start with the three bytes of `key`.
    #[inline(always)]
    fn get(&self, key: u32) -> &[u32] {
        let mut s = slot(key, self.bits);
        loop {
            match self.slots[s] {
                0 => return &[],
                i if self.keys[i as usize - 1] == key => return &self.lists[i as usize - 1],
                _ => s = (s + 1) & (self.slots.len() - 1),
            }
        }
    }
}

/// A key's first slot in a table of `1 << bits` slots.
#[inline(always)]
fn slot(key: u32, bits: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

/// How many of 10,000 bytes of source code are each ASCII byte (measured on 50 MB of the
/// crates of a cargo registry; at least 1): what the merge of buckets weighs.
#[rustfmt::skip]
const FREQUENCY: [u16; 128] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 295, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1792, 15, 41, 29, 4, 1, 17, 15, 101, 101, 10, 4, 147, 25, 59, 107,
    113, 88, 109, 81, 44, 30, 44, 23, 43, 22, 247, 89, 16, 103, 28, 3,
    1, 101, 29, 76, 56, 115, 64, 25, 20, 91, 2, 14, 68, 44, 76, 71,
    64, 5, 84, 96, 110, 32, 26, 10, 16, 15, 3, 37, 13, 37, 1, 412,
    24, 235, 155, 202, 140, 469, 116, 91, 69, 246, 3, 29, 170, 101, 315, 244,
    194, 12, 261, 292, 414, 271, 39, 31, 56, 68, 14, 36, 6, 36, 1, 1,
];

/// Whether the CPU runs the search.
fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The keywords' buckets: those sharing their first two bytes together, then merged two at
/// a time (the pair whose merge admits fewest more places of source code) down to
/// [`BUCKETS`]. Each bucket's
/// keywords longest first. `None` when the keywords start too many ways.
fn assign(keywords: &[&[u8]]) -> Option<[Box<[u32]>; BUCKETS]> {
    let mut families: Vec<(Vec<u8>, Vec<u32>)> = Vec::new();
    for (i, k) in keywords.iter().enumerate() {
        match families.iter_mut().find(|(start, _)| start[..] == k[..2]) {
            Some((_, members)) => members.push(i as u32),
            None => families.push((k[..2].to_vec(), vec![i as u32])),
        }
    }
    if families.len() > MOST_FAMILIES {
        return None;
    }
    // Each bucket with the halves its bytes admit (per byte: low halves, high halves; a
    // letter in both cases).
    type Halves = [(u16, u16); HEAD];
    let halves_of = |members: &[u32]| -> Halves {
        std::array::from_fn(|i| {
            members.iter().fold((0, 0), |(low, high), &k| {
                let b = keywords[k as usize][i];
                let upper = if b.is_ascii_lowercase() { 1 << ((b - 0x20) >> 4) } else { 0 };
                (low | 1 << (b & 0x0F), high | 1 << (b >> 4) | upper)
            })
        })
    };
    // How often a bucket admits a place of source code: per byte, the share of the bytes it
    // admits, multiplied (as if bytes were independent).
    let bits = |mut m: u16| {
        std::iter::from_fn(move || {
            let b = m.trailing_zeros() as usize;
            m &= m.wrapping_sub(1);
            (b < 16).then_some(b)
        })
    };
    let admits = |h: &Halves| -> f64 {
        h.iter()
            .map(|&(low, high)| {
                let share: u32 = bits(high)
                    .flat_map(|hi| bits(low).map(move |lo| hi << 4 | lo))
                    .map(|b| u32::from(FREQUENCY.get(b).copied().unwrap_or(1)))
                    .sum();
                f64::from(share) / 10_000.0
            })
            .product()
    };
    let union = |a: &Halves, b: &Halves| -> Halves {
        std::array::from_fn(|i| (a[i].0 | b[i].0, a[i].1 | b[i].1))
    };
    // Each bucket with its halves and how often it admits a place.
    let mut buckets: Vec<(Vec<u32>, Halves, f64)> = families
        .into_iter()
        .map(|(_, m)| {
            let h = halves_of(&m);
            let a = admits(&h);
            (m, h, a)
        })
        .collect();
    // What merging each pair adds (`cost[a][b]`, a < b), updated for the merged bucket only.
    let pair = |x: &(Vec<u32>, Halves, f64), y: &(Vec<u32>, Halves, f64)| {
        admits(&union(&x.1, &y.1)) - x.2 - y.2
    };
    let n = buckets.len();
    let mut cost: Vec<Vec<f64>> = (0..n)
        .map(|a| (0..n).map(|b| if a < b { pair(&buckets[a], &buckets[b]) } else { 0.0 }).collect())
        .collect();
    let mut alive: Vec<bool> = vec![true; n];
    let mut left = n;
    while left > BUCKETS {
        let mut best = (f64::MAX, 0, 0);
        for a in (0..n).filter(|&a| alive[a]) {
            for b in (a + 1..n).filter(|&b| alive[b]) {
                if cost[a][b] < best.0 {
                    best = (cost[a][b], a, b);
                }
            }
        }
        let (_, a, b) = best;
        let moved = std::mem::take(&mut buckets[b].0);
        let h = buckets[b].1;
        let into = &mut buckets[a];
        into.0.extend(moved);
        into.1 = union(&into.1, &h);
        into.2 = admits(&into.1);
        alive[b] = false;
        left -= 1;
        for c in (0..n).filter(|&c| alive[c] && c != a) {
            let v = pair(&buckets[a.min(c)], &buckets[a.max(c)]);
            cost[a.min(c)][a.max(c)] = v;
        }
    }
    let buckets: Vec<_> =
        buckets.into_iter().zip(alive).filter(|(_, a)| *a).map(|(b, _)| b).collect();
    let mut out: [Box<[u32]>; BUCKETS] = Default::default();
    for (slot, (mut members, _, _)) in out.iter_mut().zip(buckets) {
        members.sort_by_key(|&k| std::cmp::Reverse(keywords[k as usize].len()));
        *slot = members.into_boxed_slice();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every place where a keyword stands in any case, with the longest there: by comparison.
    fn by_comparison(keywords: &[&[u8]], hay: &[u8], starts: Range<usize>) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for at in starts.start..starts.end.min(hay.len()) {
            let best = keywords
                .iter()
                .enumerate()
                .filter(|(_, k)| {
                    hay[at..].len() >= k.len() && hay[at..at + k.len()].eq_ignore_ascii_case(k)
                })
                .max_by_key(|(_, k)| k.len());
            if let Some((i, _)) = best {
                out.push((at, keywords[i].len()));
            }
        }
        out
    }

    fn by_teddy(t: &Teddy, hay: &[u8], starts: Range<usize>) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        t.each(hay, starts, |at, k| out.push((at, t.keywords[k].bytes.len())));
        out
    }

    /// Text with no NUL: `false`; a NUL at any place searched or the one after it: `true`.
    #[test]
    fn the_pass_tells_nul_bytes_among_the_places_searched() {
        let Some(t) = Teddy::new(&[b"token"]) else { return assert!(!avx2()) };
        for len in [1, 5, 31, 33, 34, 35, 64, 100, 200] {
            let clean = vec![b'x'; len];
            for from in [0, 1, len / 2] {
                for to in [from + 1, len / 2 + 1, len] {
                    if to <= from || to > len {
                        continue;
                    }
                    assert!(!t.each(&clean, from..to, |_, _| {}).nul, "{len} {from}..{to}");
                    for at in from..(to + 1).min(len) {
                        let mut hay = clean.clone();
                        hay[at] = 0;
                        assert!(
                            t.each(&hay, from..to, |_, _| {}).nul,
                            "{len} {from}..{to} NUL at {at}"
                        );
                    }
                }
            }
        }
    }

    /// Text with no `=` before a line end: no soft break; one at any place searched: a soft
    /// break, whether LF, CR or CRLF follows (also when the line end is past the places).
    #[test]
    fn the_pass_tells_an_equals_sign_before_a_line_end_among_the_places_searched() {
        let Some(t) = Teddy::new(&[b"token"]) else { return assert!(!avx2()) };
        for len in [2, 5, 31, 33, 34, 35, 64, 100, 200] {
            // `=` and line ends, never one after the other.
            let clean: Vec<u8> = (0..len).map(|i| [b'=', b'x', b'\n', b'y'][i % 4]).collect();
            for from in [0, 1, len / 2] {
                for to in [from + 1, len / 2 + 1, len - 1, len] {
                    if to <= from || to > len {
                        continue;
                    }
                    assert!(!t.each(&clean, from..to, |_, _| {}).soft_break, "{len} {from}..{to}");
                    for at in from..to.min(len - 1) {
                        for end in [&b"\n"[..], b"\r", b"\r\n"] {
                            let mut hay = vec![b'x'; len];
                            hay[at] = b'=';
                            hay.splice(at + 1..at + 2, end.iter().copied());
                            let marks = t.each(&hay, from..to, |_, _| {});
                            assert!(marks.soft_break, "{len} {from}..{to} break at {at}");
                            assert!(!marks.nul, "{len} {from}..{to} break at {at}");
                        }
                    }
                }
            }
        }
    }

    const BUILTIN_LIKE: &[&str] = &[
        "dt0",
        "%64%74%30",
        "token",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "glrt-",
        "glrtr-",
        "gldt-",
        "glsa_",
        "glc_",
        "akia",
        "asia",
        "aiza",
        "secret_access_key",
        "secret_key",
        "sk-ant-",
        "sk-proj-",
        "t3blbkfj",
        "xoxb-",
        "xoxp-",
        "xapp-",
        "hooks.slack.com",
        "private key",
        "private%20key",
        "npm_",
        "sg.",
        "hvs.",
        "hvb.",
        ".atlasv1.",
        "accountkey=",
        "accountkey%3d",
        "\"private_key_id\"",
        "twilio",
        "dckr_pat_",
        "pypi-agei",
        "atatt3",
        "atbb",
        "shpat_",
        "shpss_",
        "k_live_",
        "k_test_",
    ];

    #[test]
    fn builtin_like_keywords_fit_and_are_found_in_any_case_at_every_place() {
        let kws: Vec<&[u8]> = BUILTIN_LIKE.iter().map(|k| k.as_bytes()).collect();
        let Some(t) = Teddy::new(&kws) else { return assert!(!avx2()) };
        for (i, k) in BUILTIN_LIKE.iter().enumerate() {
            for pad in 0..70 {
                let upper = k.to_ascii_uppercase();
                for written in [k.to_string(), upper] {
                    let hay = format!("{}{written}{}", "x".repeat(pad), "y".repeat(pad % 7));
                    let got = by_teddy(&t, hay.as_bytes(), 0..hay.len());
                    assert_eq!(got, vec![(pad, kws[i].len())], "{k} after {pad}");
                }
            }
        }
    }

    #[test]
    fn the_longest_keyword_at_a_place_is_reported_once() {
        let kws: Vec<&[u8]> = vec![b"glrt-", b"glrtr-", b"dt0", b"dt0c01"];
        let Some(t) = Teddy::new(&kws) else { return assert!(!avx2()) };
        assert_eq!(by_teddy(&t, b"a GLRTR-x dt0C01 dt0", 0..20), vec![(2, 6), (10, 6), (17, 3)]);
    }

    #[test]
    fn short_uppercase_or_control_keywords_are_left_to_other_searches() {
        assert!(Teddy::new(&[b"ab"]).is_none());
        assert!(Teddy::new(&[b"ABC"]).is_none());
        assert!(Teddy::new(&[b"a\x00b"]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Random keywords (many sharing starts) in random text with planted copies in random
        /// case: the same places and keywords as a comparison at every place, within any range.
        #[test]
        fn finds_what_comparison_finds(
            words in proptest::collection::vec("[a-e%_.][a-e0-2_-]{2,12}", 1..60),
            text in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'B'), Just(b'c'), Just(b'%'), Just(b'_'), Just(b'-'), Just(b'0'), any::<u8>()], 0..300),
            plant in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()), 0..8),
            cut in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        ) {
            let mut words = words;
            words.sort();
            words.dedup();
            let kws: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            let mut hay = text;
            for (w, at, upper) in plant {
                let w = kws[w.index(kws.len())];
                let at = at.index(hay.len() + 1);
                let w = if upper { w.to_ascii_uppercase() } else { w.to_vec() };
                hay.splice(at..at, w);
            }
            let Some(t) = Teddy::new(&kws) else { return Ok(()) };
            let (a, b) = (cut.0.index(hay.len() + 1), cut.1.index(hay.len() + 1));
            let starts = a.min(b)..a.max(b);
            prop_assert_eq!(by_teddy(&t, &hay, starts.clone()), by_comparison(&kws, &hay, starts));
        }
    }
}

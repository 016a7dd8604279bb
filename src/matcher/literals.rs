//! The regex rules' keyword search. Their literals (keywords, the keywords in UTF-16, and
//! hundreds of base64 forms) are too many for one packed SIMD searcher (Teddy takes a few
//! dozen), and one automaton over all of them ran at 0.2 GB/s. So the literals are sorted
//! into kinds, each searched only where it can stand, each in groups small enough for the
//! SIMD searcher:
//! - keywords everywhere, in any case: in one pass over the text as written ([`Teddy`], where
//!   the CPU has AVX2), else in a lower-cased copy;
//! - UTF-16 forms (each holds a NUL byte) only in blocks that hold a NUL byte;
//! - base64 forms only inside runs of base64 characters at least [`runs::MIN_BASE64_RUN`] long,
//!   found by sampling the text (wrapped lines of base64 are such runs, one per line).
//!
//! Every place a literal starts is reported (the search resumes one byte after each hit),
//! with what every literal starting there announces (a literal that another starts with is
//! announced with it), as an overlapping search would.

use aho_corasick::packed;
use aho_corasick::Span;

use super::runs::{Base64Runs, WorthSearching};
use super::teddy::{Marks, Teddy};
use super::*;

/// Most literals per packed searcher: Teddy keeps its false candidates few up to about this
/// many. Literals are shared evenly among the fewest groups. Measured on 5 MB of clean text,
/// real source code and token-dense text with the 67 built-in keywords, searched alone in
/// one process: three groups in Teddy's "fat" form (16 buckets) took 2.4-3.3 ms, as slim
/// ones (8 buckets) 4.6-5.2 ms, five slim groups 2.7-3.4 ms, two fat groups 2.9-3.5 ms. In a
/// whole scan the fat groups took about a tenth less time than the slim ones (perf samples).
const GROUP: usize = 26;
/// A set of literals, and what each announces.
#[derive(Debug, Clone)]
pub(super) struct Literals<A> {
    groups: Vec<Group>,
    /// For each literal (in group order), what a match of it announces.
    announces: Vec<Box<[A]>>,
    longest: usize,
}

#[derive(Debug, Clone)]
enum Group {
    /// The packed SIMD searcher, and the index of its first literal.
    Packed(packed::Searcher, usize),
    /// Where the CPU has no SIMD searcher: one automaton for every literal.
    Automaton(AhoCorasick),
    /// Every literal, without regard to ASCII case, in the text as written ([`Teddy`]).
    Caseless(Box<Teddy>),
    /// Many literals of base64 characters (hundreds of base64 forms: too many groups for
    /// the SIMD searcher, each call of which costs more than a short run of base64).
    Trigrams(Trigrams),
}

/// Literals of base64 characters, looked up by their first three characters: one bit per
/// three base64 values (18 bits; `+`/`-` and `/`/`_` share theirs, which costs a comparison
/// at most), then a comparison with the literals that start so. A few operations per byte,
/// nothing per call.
#[derive(Debug, Clone)]
struct Trigrams {
    bits: Box<[u64; 1 << (TRIGRAM_BITS - 6)]>,
    /// For each word of `bits`, how many bits the words before it hold: a set bit's rank
    /// among the set bits.
    ranks: Box<[u32]>,
    /// By rank, where the literals starting with that bit's three values begin in `by_start`
    /// (and, one place on, where they end).
    first: Box<[u32]>,
    /// The literals (indexes), by their first three values, longest first.
    by_start: Box<[u32]>,
    literals: Vec<Vec<u8>>,
    /// One bit per three bytes' low six bits (18 bits, [`raw_trigram`]): a literal's first
    /// three bytes set theirs. The AVX2 search looks eight places up at once in it (letters
    /// and digits share bits, which costs a lookup in `bits` at most).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    raw_bits: Box<[u32; 1 << (TRIGRAM_BITS - 5)]>,
}

const TRIGRAM_BITS: u32 = 18;

/// The key of three bytes in [`Trigrams::raw_bits`]: their low six bits.
fn raw_trigram(b: &[u8]) -> u32 {
    b[..3].iter().rev().fold(0, |k, &b| k << 6 | u32::from(b & 63))
}

/// The key of the three base64 values `v`.
fn trigram(v: [u8; 3]) -> u32 {
    v.iter().fold(0, |k, &v| k << 6 | u32::from(v))
}

impl Trigrams {
    fn new<A>(literals: &[(Vec<u8>, A)]) -> Trigrams {
        let key = |l: &[u8]| trigram([0, 1, 2].map(|i| base64_value(l[i]).expect("base64")));
        let mut order: Vec<usize> = (0..literals.len()).collect();
        order.sort_by_key(|&i| (key(&literals[i].0), std::cmp::Reverse(literals[i].0.len())));
        let mut bits: Box<[u64; 1 << (TRIGRAM_BITS - 6)]> =
            vec![0u64; 1 << (TRIGRAM_BITS - 6)].into_boxed_slice().try_into().expect("size");
        let mut first = Vec::new();
        for (at, &i) in order.iter().enumerate() {
            let k = key(&literals[i].0);
            if bits[k as usize / 64] & 1 << (k % 64) == 0 {
                bits[k as usize / 64] |= 1 << (k % 64);
                first.push(at as u32);
            }
        }
        first.push(order.len() as u32);
        let mut raw_bits: Box<[u32; 1 << (TRIGRAM_BITS - 5)]> =
            vec![0u32; 1 << (TRIGRAM_BITS - 5)].into_boxed_slice().try_into().expect("size");
        for (l, _) in literals {
            let k = raw_trigram(l);
            raw_bits[k as usize / 32] |= 1 << (k % 32);
        }
        let ranks = bits
            .iter()
            .scan(0, |before, w| {
                let r = *before;
                *before += w.count_ones();
                Some(r)
            })
            .collect();
        Trigrams {
            bits,
            ranks,
            first: first.into_boxed_slice(),
            by_start: order.into_iter().map(|i| i as u32).collect(),
            literals: literals.iter().map(|(l, _)| l.clone()).collect(),
            raw_bits,
        }
    }

    /// The literals (indexes) that start with the three values of `key`, longest first.
    fn starting(&self, key: u32) -> &[u32] {
        let (word, bit) = (key as usize / 64, key % 64);
        if self.bits[word] & 1 << bit == 0 {
            return &[];
        }
        let rank = self.ranks[word] + (self.bits[word] & !(u64::MAX << bit)).count_ones();
        let (from, to) = (self.first[rank as usize], self.first[rank as usize + 1]);
        &self.by_start[from as usize..to as usize]
    }

    /// Calls `hit(start, literal)` for the longest literal starting at each place in
    /// `starts`, left to right.
    fn each(&self, hay: &[u8], starts: Range<usize>, mut hit: impl FnMut(usize, usize)) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.each_avx2(hay, hay.len(), starts, &mut hit) };
        }
        self.each_scalar(hay, starts, &mut hit)
    }

    /// [`Trigrams::each`] for each of `runs` in turn, its literals ending within it
    /// (`hay[..run.end]`).
    fn each_in_runs(&self, hay: &[u8], runs: &[Range<usize>], mut hit: impl FnMut(usize, usize)) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.each_in_runs_avx2(hay, runs, &mut hit) };
        }
        for run in runs {
            self.each_scalar(&hay[..run.end], run.clone(), &mut hit);
        }
    }

    /// [`Trigrams::each_in_runs`] with [`Trigrams::each_avx2`] (one loop: its constants are
    /// loaded once).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn each_in_runs_avx2(
        &self,
        hay: &[u8],
        runs: &[Range<usize>],
        hit: &mut impl FnMut(usize, usize),
    ) {
        for run in runs {
            // SAFETY: the CPU has AVX2.
            unsafe { self.each_avx2(hay, run.end, run.clone(), hit) };
        }
    }

    /// [`Trigrams::each`] eight places at a time, for the literals that end by `end`: the
    /// keys of the eight places' three bytes in [`Trigrams::raw_bits`] (from the 16 bytes at
    /// the first place: one shuffle puts each place's three bytes in its lane, two
    /// multiply-adds join their low six bits) gathered at once; the few places whose bit is
    /// set are looked at one by one in `hay[..end]`. The bytes past `end` may be read for a
    /// key (a literal that reads them is not looked at), those past the end of `hay` read as
    /// NUL; the places past the end of `starts` are left out.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn each_avx2(
        &self,
        hay: &[u8],
        end: usize,
        starts: Range<usize>,
        hit: &mut impl FnMut(usize, usize),
    ) {
        use std::arch::x86_64::*;
        // From place `16 - n`, the shuffle that moves the last `n` of 16 bytes first.
        const SLIDE: [u8; 32] = {
            let mut t = [0x80; 32];
            let mut i = 0;
            while i < 16 {
                t[i] = i as u8;
                i += 1;
            }
            t
        };
        // For place `j` (lane `j`: places 0-3 in the low half, 4-7 in the high one, both
        // holding the 16 bytes), bytes `j`, `j + 1`, `j + 2` and a zero.
        const THREE: [u8; 32] = {
            let mut t = [0x80; 32];
            let mut j = 0;
            while j < 8 {
                let mut k = 0;
                while k < 3 {
                    t[4 * j + k] = (j + k) as u8;
                    k += 1;
                }
                j += 1;
            }
            t
        };
        let three = _mm256_loadu_si256(THREE.as_ptr().cast());
        let six = _mm256_set1_epi8(63);
        // Per lane, the low six bits of bytes 0 and 1 joined into one 16-bit half
        // (`b0 + 64 * b1`), byte 2 in the other; then the halves (`h0 + 4096 * h1`).
        let (pairs, halves) = (_mm256_set1_epi32(0x0001_4001), _mm256_set1_epi32(0x1000_0001));
        let five = _mm256_set1_epi32(31);
        // Which of the eight places from `at` have their key's bit set, given the 16 bytes
        // from `at` (eight places read 10 of them).
        let eight = |v: __m128i| {
            let bytes = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(v), three);
            let pair = _mm256_maddubs_epi16(_mm256_and_si256(bytes, six), pairs);
            let key = _mm256_madd_epi16(pair, halves);
            // SAFETY: each key is below 2^18, its word (key / 32) within `raw_bits`.
            let words = _mm256_i32gather_epi32::<4>(
                self.raw_bits.as_ptr().cast(),
                _mm256_srli_epi32(key, 5),
            );
            // Each key's bit moved to the top of its word (shifted by `31 - key % 32`).
            let set = _mm256_sllv_epi32(words, _mm256_andnot_si256(key, five));
            _mm256_movemask_ps(_mm256_castsi256_ps(set)) as u32
        };
        let within = &hay[..end];
        // The literals at the places of `places` (bits from `at`), if any.
        let mut look = |at: usize, mut places: u32| {
            while places != 0 {
                let p = at + places.trailing_zeros() as usize;
                places &= places - 1;
                if let Some(&[a, b, c]) = within.get(p..p + 3) {
                    if let [Some(a), Some(b), Some(c)] = [a, b, c].map(base64_value) {
                        self.longest_at(within, p, trigram([a, b, c]), hit);
                    }
                }
            }
        };
        let mut at = starts.start;
        // Eight places from `at`, all within `starts`, and the 16 bytes from it in `hay`.
        while at + 8 <= starts.end && at + 16 <= hay.len() {
            // SAFETY: the 16 bytes from `at` are in `hay`.
            let places = eight(_mm_loadu_si128(hay.as_ptr().add(at).cast()));
            if places != 0 {
                look(at, places);
            }
            at += 8;
        }
        // The last places.
        while at < starts.end {
            let v = if at + 16 <= hay.len() {
                // SAFETY: the 16 bytes from `at` are in `hay`.
                _mm_loadu_si128(hay.as_ptr().add(at).cast())
            } else if hay.len() >= 16 {
                // SAFETY: the last 16 bytes of `hay`; 16 of the 32 of `SLIDE` (`n <= 16`).
                let n = hay.len() - at;
                let last = _mm_loadu_si128(hay.as_ptr().add(hay.len() - 16).cast());
                _mm_shuffle_epi8(last, _mm_loadu_si128(SLIDE.as_ptr().add(16 - n).cast()))
            } else {
                let mut padded = [0u8; 16];
                padded[..hay.len() - at].copy_from_slice(&hay[at..]);
                // SAFETY: 16 bytes of `padded`.
                _mm_loadu_si128(padded.as_ptr().cast())
            };
            let places = eight(v) & !(u32::MAX << (starts.end - at).min(8));
            if places != 0 {
                look(at, places);
            }
            at += 8;
        }
    }

    /// [`Trigrams::each`] a byte at a time.
    fn each_scalar(&self, hay: &[u8], starts: Range<usize>, hit: &mut impl FnMut(usize, usize)) {
        let mask = (1u32 << TRIGRAM_BITS) - 1;
        // The last place a literal's third character can stand.
        let end = (starts.end + 2).min(hay.len());
        let mut i = starts.start;
        // Per stretch of base64 characters: its first two values, then a key per character.
        while i + 3 <= end {
            let (Some(a), Some(b)) = (base64_value(hay[i]), base64_value(hay[i + 1])) else {
                i += 1;
                continue;
            };
            let mut key = u32::from(a) << 6 | u32::from(b);
            let from = i + 2;
            let stretch = &hay[from..end];
            let mut k = 0;
            while k < stretch.len() {
                let Some(v) = base64_value(stretch[k]) else { break };
                key = (key << 6 | u32::from(v)) & mask;
                if self.bits[key as usize >> 6] & 1 << (key & 63) != 0 {
                    self.longest_at(hay, from + k - 2, key, hit);
                }
                k += 1;
            }
            // On after the character that ended the stretch.
            i = from + k + 1;
        }
    }

    /// Calls `hit(at, literal)` for the longest literal at `at`, whose first three values
    /// make `key` (out of the loop over the characters: few places have a literal's key).
    #[cold]
    #[inline(never)]
    fn longest_at(&self, hay: &[u8], at: usize, key: u32, hit: &mut impl FnMut(usize, usize)) {
        let list = self.starting(key);
        if let Some(&l) = list.iter().find(|&&l| hay[at..].starts_with(&self.literals[l as usize]))
        {
            hit(at, l as usize);
        }
    }
}

impl<A: Copy + PartialEq> Literals<A> {
    /// The literals of `list` (each with what it announces; a literal listed twice announces
    /// both), `None` when there are none.
    pub(super) fn new(list: &[(Vec<u8>, A)]) -> Option<Literals<A>> {
        Literals::build(list, false)
    }

    /// The literals of `list` (lower-case), to be found in any ASCII case: in the text as
    /// written where the CPU runs [`Teddy`] on them ([`Literals::ignores_case`]), else in a
    /// lower-cased copy.
    pub(super) fn new_caseless(list: &[(Vec<u8>, A)]) -> Option<Literals<A>> {
        Literals::build(list, true)
    }

    /// Whether the search ignores case itself: it is handed the text as written, not a
    /// lower-cased copy.
    pub(super) fn ignores_case(&self) -> bool {
        matches!(self.groups[..], [Group::Caseless(_)])
    }

    fn build(list: &[(Vec<u8>, A)], caseless: bool) -> Option<Literals<A>> {
        let mut literals: Vec<(Vec<u8>, Vec<A>)> = Vec::new();
        let mut sorted: Vec<&(Vec<u8>, A)> = list.iter().collect();
        // Sorted, literals that share their first bytes share the searcher's buckets.
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (lit, a) in sorted {
            match literals.last_mut() {
                Some((l, anns)) if l == lit => {
                    if !anns.contains(a) {
                        anns.push(*a)
                    }
                }
                _ => literals.push((lit.clone(), vec![*a])),
            }
        }
        if literals.is_empty() {
            return None;
        }
        // The search reports the longest literal at a place: it announces every literal it
        // starts with as well. (Sorted: those stand before it.)
        for b in 0..literals.len() {
            for a in (0..b).rev() {
                if !literals[b].0.starts_with(&literals[a].0) {
                    if literals[a].0.first() != literals[b].0.first() {
                        break;
                    }
                    continue;
                }
                let more = literals[a].1.clone();
                for x in more {
                    if !literals[b].1.contains(&x) {
                        literals[b].1.push(x);
                    }
                }
            }
        }
        let longest = literals.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut groups = Vec::new();
        if caseless {
            let keywords: Vec<&[u8]> = literals.iter().map(|(l, _)| &l[..]).collect();
            if let Some(t) = Teddy::new(&keywords) {
                groups.push(Group::Caseless(Box::new(t)));
            }
        }
        let base64 =
            literals.iter().all(|(l, _)| l.len() >= 3 && l.iter().all(|&b| is_base64_char(b)));
        if base64 && literals.len() > GROUP {
            groups.push(Group::Trigrams(Trigrams::new(&literals)));
        }
        // Else packed searches, a few dozen literals each.
        let one = !groups.is_empty();
        let size = literals.len().div_ceil(literals.len().div_ceil(GROUP));
        for (i, chunk) in literals.chunks(size).enumerate().filter(|_| !one) {
            // The fat form where the CPU has it (AVX2), else whichever the searcher picks.
            let build = |fat: Option<bool>| {
                packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostLongest)
                    .only_teddy_fat(fat)
                    .builder()
                    .extend(chunk.iter().map(|(l, _)| l))
                    .build()
            };
            match build(Some(true)).or_else(|| build(None)) {
                Some(s) => groups.push(Group::Packed(s, i * size)),
                None => {
                    groups = vec![Group::Automaton(
                        AhoCorasickBuilder::new()
                            .match_kind(MatchKind::LeftmostLongest)
                            .build(literals.iter().map(|(l, _)| l))
                            .expect("literals are plain strings"),
                    )];
                    break;
                }
            }
        }
        let announces = literals.into_iter().map(|(_, a)| a.into_boxed_slice()).collect();
        Some(Literals { groups, announces, longest })
    }

    /// The longest literal's length.
    pub(super) fn longest(&self) -> usize {
        self.longest
    }

    /// Calls `hit(start, announces)` for every place in `hay` where a literal starts within
    /// `starts` (a literal may end past it, up to the end of `hay`); per group, left to
    /// right.
    pub(super) fn each(&self, hay: &[u8], starts: Range<usize>, mut hit: impl FnMut(usize, &[A])) {
        for group in &self.groups {
            let mut at = starts.start;
            while at < starts.end {
                let found = match group {
                    Group::Packed(s, first) => s
                        .find_in(hay, Span::from(at..hay.len()))
                        .map(|m| (m.start(), first + m.pattern().as_usize())),
                    Group::Automaton(a) => a
                        .find(aho_corasick::Input::new(hay).span(at..hay.len()))
                        .map(|m| (m.start(), m.pattern().as_usize())),
                    Group::Trigrams(t) => {
                        t.each(hay, at..starts.end, |at, l| hit(at, &self.announces[l]));
                        break;
                    }
                    Group::Caseless(t) => {
                        t.each(hay, at..starts.end, |at, l| hit(at, &self.announces[l]));
                        break;
                    }
                };
                match found {
                    Some((start, literal)) if start < starts.end => {
                        hit(start, &self.announces[literal]);
                        at = start + 1;
                    }
                    _ => break,
                }
            }
        }
    }

    /// [`Literals::each`], and what else stands at the places of `starts` ([`Marks`]): told
    /// by the caseless search's own pass ([`Teddy::each`]); else whether a NUL byte stands
    /// at one of them or the one after it is looked for (lower-casing keeps NULs), and a soft
    /// break is taken to be there.
    pub(super) fn each_noting(
        &self,
        hay: &[u8],
        starts: Range<usize>,
        mut hit: impl FnMut(usize, &[A]),
    ) -> Marks {
        if let [Group::Caseless(t)] = &self.groups[..] {
            return t.each(hay, starts, |at, l| hit(at, &self.announces[l]));
        }
        let around = starts.start.min(hay.len())..(starts.end + 1).min(hay.len());
        self.each(hay, starts, hit);
        Marks { nul: memchr::memchr(0, &hay[around]).is_some(), soft_break: true }
    }

    /// [`Literals::each`] for each of `runs` in turn, the literals ending within it
    /// (`hay[..run.end]`).
    pub(super) fn each_in_runs(
        &self,
        hay: &[u8],
        runs: &[Range<usize>],
        mut hit: impl FnMut(usize, &[A]),
    ) {
        if let [Group::Trigrams(t)] = &self.groups[..] {
            return t.each_in_runs(hay, runs, |at, l| hit(at, &self.announces[l]));
        }
        for run in runs {
            self.each(&hay[..run.end], run.clone(), &mut hit);
        }
    }

    /// Whether a literal shows anywhere in `hay`.
    pub(super) fn any_in(&self, hay: &[u8]) -> bool {
        let mut any = false;
        self.each(hay, 0..hay.len(), |_, _| any = true);
        any
    }
}

/// `text` lower-cased (ASCII letters only) into `into`.
pub(super) fn fold_into(text: &[u8], into: &mut Vec<u8>) {
    into.clear();
    into.extend(text.iter().map(u8::to_ascii_lowercase));
}

impl super::Matcher {
    /// Every rule's keywords and their forms in `hay`, block by block, each place handed to
    /// its rule in the order of the input; and the signatures that line ends cut.
    /// With `soft_cut`, keywords cut by quoted-printable soft breaks too
    /// ([`Matcher::soft_cut_keywords`]); then returns how many soft breaks the text shows as
    /// an encoder writes them (else 0).
    pub(super) fn search_keywords<H: Found>(
        &self,
        hay: &[u8],
        depth: u8,
        soft_cut: bool,
        out: &mut Vec<H>,
    ) -> usize {
        let search = &self.search;
        // Block by block, the keyword search then the pass for cut signatures ([`linecut`]),
        // so that the second reads the block from the cache (measured: a second pass over
        // the whole input cost half as much again on clean text, waiting for memory).
        let mut cuts = linecut::CutPass::default();
        if search.plain.is_none() && search.utf16.is_none() && search.encoded.is_none() {
            self.cut_signatures(hay, hay.len(), depth, &mut cuts, out);
            return 0;
        }
        let mut soft_breaks = 0;
        let mut done = Done::new(self.rules.len());
        let mut folded = Vec::new();
        let mut hits: Vec<(usize, Announce)> = Vec::new();
        let mut runs = Base64Runs::default();
        let worth = WorthSearching::new(search.hex_literal);
        // The runs of base64 characters that end in the block.
        let mut found = Vec::new();
        let mut next_line = 0;
        let mut start = 0;
        loop {
            let end = (start + PREFILTER_BLOCK).min(hay.len());
            let reach = (end + search.longest).min(hay.len());
            hits.clear();
            let mut keep = |at: usize, a: &[Announce]| hits.extend(a.iter().map(|&a| (at, a)));
            // Without the keywords' pass, a soft break is taken to be in the block.
            let mut marks = Marks { nul: false, soft_break: true };
            if search.plain.is_some() || search.utf16.is_some() {
                let raw = &hay[start..reach];
                let to = end - start;
                // The caseless search reads the text as written and tells where NULs are;
                // else the keywords are searched in a lower-cased copy.
                let as_written = search.plain.as_ref().is_none_or(|p| p.ignores_case());
                if !as_written {
                    fold_into(raw, &mut folded);
                }
                marks = match &search.plain {
                    Some(p) => {
                        let text = if as_written { raw } else { &folded[..] };
                        p.each_noting(text, 0..to, |at, a| keep(start + at, a))
                    }
                    None => Marks { nul: memchr::memchr(0, raw).is_some(), soft_break: true },
                };
                let utf16 = search.utf16.as_ref().filter(|_| marks.nul);
                if utf16.is_some() && as_written {
                    fold_into(raw, &mut folded);
                }
                if let Some(u) = utf16 {
                    u.each(&folded, 0..to, |at, a| keep(start + at, a));
                }
            }
            if let Some(e) = &search.encoded {
                found.clear();
                runs.each(hay, end, |run| found.push(run));
                // Words joined over line ends and indentation (most runs in source code) hold
                // too few base64 characters for any encoded token; hashes and UUIDs hold no
                // literal when none is written in their alphabet alone.
                worth.retain(hay, &mut found);
                if depth == 0 {
                    for run in &found {
                        self.short_base64_value(hay, run.clone(), &mut done.base64, out);
                    }
                }
                e.each_in_runs(hay, &found, &mut keep);
            }
            hits.sort_unstable_by_key(|h| h.0);
            for &(at, a) in &hits {
                match a {
                    Announce::Plain(rule) if at >= *done.plain(rule) => {
                        *done.plain(rule) = self.regex_near(hay, at, rule, out);
                    }
                    Announce::Utf16(rule) if at >= *done.utf16(rule) => {
                        *done.utf16(rule) = self.utf16_near(hay, at, rule, out);
                    }
                    Announce::Base64 { back } => {
                        self.on_base64(hay, at, back, depth, &mut done, out)
                    }
                    Announce::Keyword(g) => self.on_keyword(hay, at, g, &mut done, out),
                    Announce::KeywordUtf16(g) => self.on_utf16(hay, at, g, &mut done, out),
                    Announce::Escaped(g) => out.extend(self.escaped_at(hay, at, g)),
                    _ => {}
                }
            }
            self.cut_signatures(hay, end, depth, &mut cuts, out);
            // The keywords' pass tells whether an `=` before a line end stands in the block.
            if soft_cut && marks.soft_break {
                soft_breaks += self.soft_cut_keywords(hay, start..end, depth, &mut next_line, out);
            }
            if end == hay.len() {
                break;
            }
            start = end;
        }
        soft_breaks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(lits: &Literals<u8>, hay: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut v = Vec::new();
        lits.each(hay, 0..hay.len(), |at, a| v.push((at, a.to_vec())));
        v.sort();
        v
    }

    #[test]
    fn every_start_is_reported_with_the_literals_it_starts() {
        let list: Vec<(Vec<u8>, u8)> = vec![
            (b"ab".to_vec(), 1),
            (b"abc".to_vec(), 2),
            (b"bcd".to_vec(), 3),
            (b"cd".to_vec(), 4),
            (b"ab".to_vec(), 5),
        ];
        let lits = Literals::new(&list).unwrap();
        let got = starts(&lits, b"xxabcdxxab");
        assert_eq!(
            got,
            [(2, vec![2, 1, 5]), (3, vec![3]), (4, vec![4]), (8, vec![1, 5])]
                .map(|(a, v)| (a, v.to_vec()))
        );
    }

    #[test]
    fn many_literals_in_several_groups_are_all_found() {
        let list: Vec<(Vec<u8>, u8)> =
            (0..200u8).map(|i| (format!("k{i:03}_").into_bytes(), i)).collect();
        let lits = Literals::new(&list).unwrap();
        let hay: Vec<u8> =
            (0..200u8).rev().flat_map(|i| format!(" k{i:03}_ ").into_bytes()).collect();
        let got = starts(&lits, &hay);
        assert_eq!(got.len(), 200);
        assert!(got.iter().all(|(at, a)| hay[*at..].starts_with(&list[a[0] as usize].0)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Many base64 literals (the trigram lookup: more than a group of distinct ones),
        /// some starting others or with the same first three values (`+`/`-`, `/`/`_`),
        /// found where a comparison at every place finds them, with what every literal
        /// starting there announces.
        #[test]
        fn base64_literals_are_found_as_by_comparison_at_every_place(
            list in proptest::collection::btree_set(
                proptest::collection::vec(proptest::sample::select(b"ab+-/_Z9".to_vec()), 3..8),
                GROUP + 1..80,
            ),
            hay in proptest::collection::vec(proptest::sample::select(b"ab+-/_Z9 .".to_vec()), 0..300),
            from in 0usize..300,
            len in 0usize..300,
            twice in 0usize..4,
        ) {
            // The first few listed twice, each time announcing another.
            let list: Vec<Vec<u8>> = list.into_iter().collect();
            let twice = list[..twice].to_vec();
            let list: Vec<(Vec<u8>, u8)> =
                list.into_iter().chain(twice).enumerate().map(|(i, l)| (l, i as u8)).collect();
            let lits = Literals::new(&list).unwrap();
            proptest::prop_assert!(matches!(lits.groups[..], [Group::Trigrams(_)]));
            let from = from.min(hay.len());
            let range = from..(from + len).min(hay.len());
            let mut got = Vec::new();
            lits.each(&hay, range.clone(), |at, a| {
                let mut a = a.to_vec();
                a.sort_unstable();
                got.push((at, a))
            });
            let want: Vec<(usize, Vec<u8>)> = range
                .clone()
                .filter_map(|at| {
                    let a: std::collections::BTreeSet<u8> = list
                        .iter()
                        .filter(|(l, _)| hay[at..].starts_with(l))
                        .map(|&(_, a)| a)
                        .collect();
                    (!a.is_empty()).then(|| (at, a.into_iter().collect()))
                })
                .collect();
            proptest::prop_assert_eq!(got, want);
            // The byte-at-a-time search (where the CPU has no AVX2) finds the same.
            let [Group::Trigrams(t)] = &lits.groups[..] else { unreachable!() };
            let (mut each, mut scalar) = (Vec::new(), Vec::new());
            t.each(&hay, range.clone(), |at, l| each.push((at, l)));
            t.each_scalar(&hay, range, &mut |at, l| scalar.push((at, l)));
            proptest::prop_assert_eq!(each, scalar);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Searched run by run (the runs of a block at once), the base64 literals found are
        /// those found in each run alone, each ending within its run, in the same order; the
        /// same where the CPU has no AVX2.
        #[test]
        fn base64_literals_are_found_run_by_run_as_in_each_run_alone(
            list in proptest::collection::btree_set(
                proptest::collection::vec(proptest::sample::select(b"ab+-/_Z9".to_vec()), 3..8),
                GROUP + 1..80,
            ),
            hay in proptest::collection::vec(proptest::sample::select(b"ab+-/_Z9 .".to_vec()), 0..400),
            mut cuts in proptest::collection::vec(0usize..400, 0..12),
        ) {
            let list: Vec<(Vec<u8>, u8)> =
                list.into_iter().enumerate().map(|(i, l)| (l, i as u8)).collect();
            let lits = Literals::new(&list).unwrap();
            // Runs between the cuts, every other stretch.
            cuts.push(0);
            cuts.push(hay.len());
            cuts.iter_mut().for_each(|c| *c = (*c).min(hay.len()));
            cuts.sort_unstable();
            let runs: Vec<Range<usize>> =
                cuts.windows(2).step_by(2).map(|w| w[0]..w[1]).collect();
            let mut want = Vec::new();
            for run in &runs {
                lits.each(&hay[..run.end], run.clone(), |at, a| want.push((at, a.to_vec())));
            }
            let mut got = Vec::new();
            lits.each_in_runs(&hay, &runs, |at, a| got.push((at, a.to_vec())));
            proptest::prop_assert_eq!(got, want);
            let [Group::Trigrams(t)] = &lits.groups[..] else { unreachable!() };
            let (mut each, mut scalar) = (Vec::new(), Vec::new());
            t.each_in_runs(&hay, &runs, |at, l| each.push((at, l)));
            for run in &runs {
                t.each_scalar(&hay[..run.end], run.clone(), &mut |at, l| scalar.push((at, l)));
            }
            proptest::prop_assert_eq!(each, scalar);
        }
    }

    #[test]
    fn base64_literals_are_found_at_the_edges_of_the_text_and_of_stretches() {
        let list: Vec<(Vec<u8>, u8)> =
            (0..40u8).map(|i| (format!("Z{}", 10 + i).into_bytes(), i)).collect();
        let lits = Literals::new(&list).unwrap();
        assert!(matches!(lits.groups[..], [Group::Trigrams(_)]));
        let long = "Z10.Z11Z12 .Z13..Z14Z15Z16..Z17Z18.Z19Z20Z21Z22Z2";
        for hay in ["Z10", "Z11.Z49", ".Z12 Z13.", "Z1", "Z14Z15 Z1", "Z16Z17", long] {
            let want: Vec<(usize, Vec<u8>)> = (0..hay.len())
                .filter_map(|at| {
                    let i = list.iter().position(|(l, _)| hay.as_bytes()[at..].starts_with(l))?;
                    Some((at, vec![i as u8]))
                })
                .collect();
            assert_eq!(starts(&lits, hay.as_bytes()), want, "{hay}");
        }
    }

    #[test]
    fn hits_only_start_within_the_range_but_may_end_past_it() {
        let lits = Literals::new(&[(b"token".to_vec(), 0u8)]).unwrap();
        let mut v = Vec::new();
        lits.each(b"a token b token", 0..5, |at, _| v.push(at));
        assert_eq!(v, [2]);
        v.clear();
        lits.each(b"a token b token", 0..2, |at, _| v.push(at));
        assert!(v.is_empty());
    }

    #[test]
    fn folding_lowers_letters_only() {
        let mut out = Vec::new();
        fold_into(b"AccountKey=\xC3\x84Z_9", &mut out);
        assert_eq!(out, b"accountkey=\xC3\x84z_9");
    }

    /// Keywords to be found in any case: with few starts, one pass over the text as written
    /// (where the CPU has AVX2); with more starts than its buckets take, the packed searches
    /// over a lower-cased copy. Either way every keyword is found in upper, lower and mixed
    /// case, with what it announces.
    #[test]
    fn caseless_literals_are_found_in_any_case_in_one_pass_or_in_a_folded_copy() {
        let few: Vec<String> =
            ["token", "dt0", "ghp_", "secret_key", "%64%74%30"].map(String::from).to_vec();
        // 70 keywords, each starting its own way (two bytes): more than the one pass takes.
        let many: Vec<String> = (0..70u8)
            .map(|i| format!("{}{}key", (b'a' + i % 26) as char, (b'a' + i / 26) as char))
            .collect();
        for (keywords, one_pass) in [(few, std::is_x86_feature_detected!("avx2")), (many, false)] {
            let list: Vec<(Vec<u8>, usize)> =
                keywords.iter().enumerate().map(|(i, k)| (k.as_bytes().to_vec(), i)).collect();
            let lits = Literals::new_caseless(&list).unwrap();
            assert_eq!(lits.ignores_case(), one_pass);
            for (i, k) in keywords.iter().enumerate() {
                let mixed: String = k
                    .chars()
                    .enumerate()
                    .map(|(j, c)| if j % 2 == 0 { c.to_ascii_uppercase() } else { c })
                    .collect();
                for written in [k.to_ascii_uppercase(), mixed, k.clone()] {
                    let text = format!("x = \"{written}\";");
                    let mut folded = Vec::new();
                    fold_into(text.as_bytes(), &mut folded);
                    let hay = if lits.ignores_case() { text.as_bytes() } else { &folded[..] };
                    let mut got = Vec::new();
                    lits.each(hay, 0..hay.len(), |at, a| got.push((at, a.to_vec())));
                    assert_eq!(got, vec![(5, vec![i])], "{written}");
                    let mut again = Vec::new();
                    let nul = lits
                        .each_noting(hay, 0..hay.len(), |at, a| again.push((at, a.to_vec())))
                        .nul;
                    assert_eq!((again, nul), (got, false), "{written}");
                    let with_nul = [hay, b"\0"].concat();
                    assert!(lits.each_noting(&with_nul, 0..hay.len(), |_, _| {}).nul, "{written}");
                }
            }
        }
    }
}

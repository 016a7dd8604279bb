//! The regex rules' keyword search. Their literals (keywords, the keywords in UTF-16, and
//! hundreds of base64 forms) are too many for one packed SIMD searcher (Teddy takes a few
//! dozen), and one automaton over all of them ran at 0.2 GB/s. So the literals are sorted
//! into kinds, each searched only where it can stand, each in groups small enough for the
//! SIMD searcher:
//! - keywords everywhere, in a lower-cased copy of the text when the rules ignore case;
//! - UTF-16 forms (each holds a NUL byte) only in blocks that hold a NUL byte;
//! - base64 forms only inside runs of base64 characters at least [`MIN_BASE64_RUN`] long,
//!   found by sampling the text (wrapped lines of base64 are such runs, one per line).
//!
//! Every place a literal starts is reported (the search resumes one byte after each hit),
//! with what every literal starting there announces (a literal that another starts with is
//! announced with it), as an overlapping search would.

use aho_corasick::packed;
use aho_corasick::Span;

use super::*;

/// Most literals per packed searcher: Teddy keeps its false candidates few up to about this
/// many (measured on clean text, 58 keywords: groups of 20 took a third of the time of groups
/// of 30, and of one group of 58). Literals are shared evenly among the fewest groups.
const GROUP: usize = 22;
/// Shortest run of base64 characters searched for base64 forms: the shortest token of a
/// regex rule, base64-encoded, is longer.
pub(super) const MIN_BASE64_RUN: usize = 23;
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
    bits: Box<[u64]>,
    /// The literals (indexes) by their first three values, longest first.
    by_start: std::collections::HashMap<u32, Vec<usize>>,
    literals: Vec<Vec<u8>>,
}

const TRIGRAM_BITS: u32 = 18;

impl Trigrams {
    fn new<A>(literals: &[(Vec<u8>, A)]) -> Trigrams {
        let mut bits = vec![0u64; (1 << TRIGRAM_BITS) / 64].into_boxed_slice();
        let mut by_start: std::collections::HashMap<u32, Vec<usize>> = Default::default();
        for (i, (l, _)) in literals.iter().enumerate() {
            let key = l[..3]
                .iter()
                .fold(0u32, |k, &b| k << 6 | u32::from(base64_value(b).expect("base64")));
            bits[key as usize / 64] |= 1 << (key % 64);
            by_start.entry(key).or_default().push(i);
        }
        for list in by_start.values_mut() {
            list.sort_by_key(|&i| std::cmp::Reverse(literals[i].0.len()));
        }
        Trigrams { bits, by_start, literals: literals.iter().map(|(l, _)| l.clone()).collect() }
    }

    /// Calls `hit(start, literal)` for the longest literal starting at each place in
    /// `starts`.
    fn each(&self, hay: &[u8], starts: Range<usize>, mut hit: impl FnMut(usize, usize)) {
        let mask = (1u32 << TRIGRAM_BITS) - 1;
        let (mut key, mut valid) = (0u32, 0usize);
        for i in starts.start..(starts.end + 2).min(hay.len()) {
            let Some(v) = base64_value(hay[i]) else {
                valid = 0;
                continue;
            };
            key = (key << 6 | u32::from(v)) & mask;
            valid += 1;
            if valid < 3 || self.bits[key as usize / 64] & (1 << (key % 64)) == 0 {
                continue;
            }
            let at = i - 2;
            if at >= starts.end {
                break;
            }
            let list = self.by_start.get(&key).map_or(&[][..], Vec::as_slice);
            if let Some(&l) = list.iter().find(|&&l| hay[at..].starts_with(&self.literals[l])) {
                hit(at, l);
            }
        }
    }
}

impl<A: Copy + PartialEq> Literals<A> {
    /// The literals of `list` (each with what it announces; a literal listed twice announces
    /// both), `None` when there are none.
    pub(super) fn new(list: &[(Vec<u8>, A)]) -> Option<Literals<A>> {
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
        let base64 =
            literals.iter().all(|(l, _)| l.len() >= 3 && l.iter().all(|&b| is_base64_char(b)));
        if base64 && literals.len() > GROUP {
            groups.push(Group::Trigrams(Trigrams::new(&literals)));
        }
        let trigrams = !groups.is_empty();
        let size = literals.len().div_ceil(literals.len().div_ceil(GROUP));
        for (i, chunk) in literals.chunks(size).enumerate().filter(|_| !trigrams) {
            let searcher = packed::Config::new()
                .match_kind(packed::MatchKind::LeftmostLongest)
                .builder()
                .extend(chunk.iter().map(|(l, _)| l))
                .build();
            match searcher {
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

    /// Whether a literal shows anywhere in `hay`.
    pub(super) fn any_in(&self, hay: &[u8]) -> bool {
        let mut any = false;
        self.each(hay, 0..hay.len(), |_, _| any = true);
        any
    }
}

/// Whether `text` is written in the alphabet of hexadecimal hashes and UUIDs alone: digits,
/// `-`, and letters `a`-`f` or `A`-`F` (one case throughout).
pub(super) fn hex_alone(text: &[u8]) -> bool {
    let lower = |b: u8| b.is_ascii_digit() || b == b'-' || (b'a'..=b'f').contains(&b);
    let upper = |b: u8| b.is_ascii_digit() || b == b'-' || (b'A'..=b'F').contains(&b);
    text.iter().all(|&b| lower(b)) || text.iter().all(|&b| upper(b))
}

/// `text` lower-cased (ASCII letters only) into `into`.
pub(super) fn fold_into(text: &[u8], into: &mut Vec<u8>) {
    into.clear();
    into.extend(text.iter().map(u8::to_ascii_lowercase));
}

/// Finds the runs of base64 characters at least [`MIN_BASE64_RUN`] long, left to right, 16
/// bytes at a time (a run is reported once, whole, when it ends: perhaps past the part
/// looked at so far).
#[derive(Debug, Default)]
pub(super) struct Base64Runs {
    /// Where to go on from, and where the run of base64 characters that ends there starts.
    next: usize,
    start: usize,
}

impl Base64Runs {
    /// Looks at the bytes up to `to` at least (up to the end of `hay` where a run reaches
    /// it), calling `run(range)` for each run that ends there.
    pub(super) fn each(&mut self, hay: &[u8], to: usize, mut run: impl FnMut(Range<usize>)) {
        let mut close = |start: usize, end: usize| {
            if end - start >= MIN_BASE64_RUN {
                run(start..end)
            }
        };
        while self.next < to {
            let p = self.next;
            if p + 16 > hay.len() {
                for (i, &b) in hay[p..].iter().enumerate() {
                    if !is_base64_char(b) {
                        close(self.start, p + i);
                        self.start = p + i + 1;
                    }
                }
                self.next = hay.len();
                break;
            }
            let mask = linecut::base64_mask(&hay[p..p + 16]);
            self.next = p + 16;
            if mask == 0xFFFF {
                continue;
            }
            // The run goes on into the block up to its first byte that is not base64; the
            // next starts after its last one (runs between are shorter than the block).
            close(self.start, p + (!mask).trailing_zeros() as usize);
            self.start = p + 32 - ((!mask) & 0xFFFF).leading_zeros() as usize;
        }
        if self.next == hay.len() && self.start < hay.len() {
            close(self.start, hay.len());
            self.start = hay.len();
        }
    }
}

impl super::Matcher {
    /// Every rule's keywords and their forms in `hay`, block by block, each place handed to
    /// its rule in the order of the input; and the signatures that line ends cut.
    /// With `soft_cut`, keywords cut by quoted-printable soft breaks too
    /// ([`Matcher::soft_cut_keywords`]).
    pub(super) fn custom_keywords<H: Found>(
        &self,
        hay: &[u8],
        depth: u8,
        soft_cut: bool,
        out: &mut Vec<H>,
    ) {
        let search = &self.custom;
        // Block by block, the keyword search then the pass for cut signatures ([`linecut`]),
        // so that the second reads the block from the cache (measured: a second pass over
        // the whole input cost half as much again on clean text, waiting for memory).
        let mut cuts = linecut::CutPass::default();
        if search.plain.is_none() && search.utf16.is_none() && search.encoded.is_none() {
            self.cut_signatures(hay, hay.len(), depth, &mut cuts, out);
            return;
        }
        let mut done = Done::new(self.rules.len());
        let mut folded = Vec::new();
        let mut hits: Vec<(usize, CustomAnnounce)> = Vec::new();
        let mut runs = Base64Runs::default();
        let mut next_line = 0;
        let mut start = 0;
        loop {
            let end = (start + PREFILTER_BLOCK).min(hay.len());
            let reach = (end + search.longest).min(hay.len());
            hits.clear();
            let mut keep =
                |at: usize, a: &[CustomAnnounce]| hits.extend(a.iter().map(|&a| (at, a)));
            if search.plain.is_some() || search.utf16.is_some() {
                fold_into(&hay[start..reach], &mut folded);
                let to = end - start;
                if let Some(p) = &search.plain {
                    p.each(&folded, 0..to, |at, a| keep(start + at, a));
                }
                if let Some(u) =
                    search.utf16.as_ref().filter(|_| memchr::memchr(0, &folded).is_some())
                {
                    u.each(&folded, 0..to, |at, a| keep(start + at, a));
                }
            }
            if let Some(e) = &search.encoded {
                runs.each(hay, end, |run| {
                    // Hashes and UUIDs (most runs in source text) hold no literal when none
                    // is written in their alphabet alone.
                    if !search.hex_literal && hex_alone(&hay[run.clone()]) {
                        return;
                    }
                    e.each(&hay[..run.end], run, &mut keep)
                });
            }
            hits.sort_unstable_by_key(|h| h.0);
            for &(at, a) in &hits {
                match a {
                    CustomAnnounce::Plain(rule) if at >= *done.plain(rule) => {
                        *done.plain(rule) = self.regex_near(hay, at, rule, out);
                    }
                    CustomAnnounce::Utf16(rule) if at >= *done.utf16(rule) => {
                        *done.utf16(rule) = self.utf16_near(hay, at, rule, out);
                    }
                    CustomAnnounce::Base64 { back } => {
                        self.on_base64(hay, at, back, depth, &mut done, out)
                    }
                    CustomAnnounce::Keyword(g) => self.on_keyword(hay, at, g, &mut done, out),
                    CustomAnnounce::KeywordUtf16(g) => self.on_utf16(hay, at, g, &mut done, out),
                    CustomAnnounce::Escaped(g) => out.extend(self.escaped_at(hay, at, g)),
                    _ => {}
                }
            }
            self.cut_signatures(hay, end, depth, &mut cuts, out);
            if soft_cut {
                self.soft_cut_keywords(hay, start..end, depth, &mut next_line, out);
            }
            if end == hay.len() {
                break;
            }
            start = end;
        }
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
            let want = [(before, before + run.len()), (hay.len() - run.len(), hay.len())];
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
    fn hashes_and_uuids_are_hex_alone() {
        assert!(hex_alone(b"5ec87a171ac826a6fce48478dcb74f21345d2cce8038a39d5e0853964b50af03"));
        assert!(hex_alone(b"3772a077-0217-21a2-78f6-4f7fd633dbdd"));
        assert!(hex_alone(b"3772A077-0217-21A2-78F6-4F7FD633DBDD"));
        assert!(!hex_alone(b"3772a077-0217-21A2"), "both cases");
        assert!(!hex_alone(b"ZHQwYzAxLg"));
        // Every base64 form of the built-in rules' keywords holds a character outside it.
        let m = crate::matcher::Matcher::builtin();
        assert!(!m.custom.hex_literal);
        assert!(m.encoded_signatures().iter().all(|(s, _)| !hex_alone(s.as_bytes())));
    }

    #[test]
    fn folding_lowers_letters_only() {
        let mut out = Vec::new();
        fold_into(b"AccountKey=\xC3\x84Z_9", &mut out);
        assert_eq!(out, b"accountkey=\xC3\x84z_9");
    }
}

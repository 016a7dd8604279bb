//! The prefilter: the keyword search (a packed SIMD searcher when it can, else an
//! automaton), the encoded forms of each keyword, and cutting large inputs for parallel
//! search.

use super::*;

/// The keyword search: the packed (SIMD) searcher, which reports its matches itself, or an
/// automaton where the CPU has no SIMD support for it or the patterns are too many.
#[derive(Debug, Clone)]
pub(super) enum Keywords {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Keywords {
    pub(super) fn new(patterns: &[Vec<u8>]) -> Keywords {
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(patterns)
            .build();
        match packed {
            Some(searcher) => Keywords::Packed(searcher),
            // Leftmost-longest, as above.
            None => Keywords::Automaton(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(patterns)
                    .expect("keywords are plain strings"),
            ),
        }
    }

    /// Calls `hit(start, pattern index)` for each pattern found in `hay`, left to right.
    pub(super) fn each(&self, hay: &[u8], mut hit: impl FnMut(usize, usize)) {
        match self {
            Keywords::Packed(s) => {
                s.find_iter(hay).for_each(|m| hit(m.start(), m.pattern().as_usize()))
            }
            Keywords::Automaton(a) => {
                a.find_iter(hay).for_each(|m| hit(m.start(), m.pattern().as_usize()))
            }
        }
    }
}

/// The base64 forms of `keyword` that `rules` ask for: base64 at each alignment, base64 in
/// base64, UTF-16 in base64.
pub(super) fn encoded_forms(keyword: &[u8], rules: &[&Rule]) -> Vec<(String, usize)> {
    let wants = |d: Decode| rules.iter().any(|r| r.decodes(d));
    let mut out = Vec::new();
    if wants(Decode::Base64) {
        out.extend(base64_signatures(keyword));
    }
    if wants(Decode::Base64InBase64) {
        out.extend(nested_base64_signatures(keyword));
    }
    if wants(Decode::Utf16InBase64) {
        out.extend(base64_signatures(&utf16le(keyword)));
    }
    let mut unique: Vec<(String, usize)> = Vec::with_capacity(out.len());
    for f in out {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    unique
}

/// Cuts a large input into parts that end at a line end (one per thread), so that no match
/// but those of regex rules without keywords can cross a cut. Small inputs stay whole.
pub(super) fn split_at_lines(hay: &[u8]) -> Vec<Range<usize>> {
    // Asking rayon for its thread count starts its pool: only for inputs worth splitting.
    // Inside a pool's task (a segment of a large file, a blob of a history scan) the work is
    // already spread over the cores.
    if hay.len() < PARALLEL_MIN || rayon::current_thread_index().is_some() {
        return std::iter::once(0..hay.len()).collect();
    }
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return std::iter::once(0..hay.len()).collect();
    }
    let step = hay.len() / threads;
    let mut parts = Vec::with_capacity(threads);
    let mut start = 0;
    while start < hay.len() {
        let target = start + step;
        if target >= hay.len() || parts.len() + 1 == threads {
            parts.push(start..hay.len());
            break;
        }
        let end = match memchr::memchr(b'\n', &hay[target..]) {
            Some(p) => target + p + 1,
            None => hay.len(),
        };
        parts.push(start..end);
        start = end;
    }
    parts
}

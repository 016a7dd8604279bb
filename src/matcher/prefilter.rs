//! The prefilter's literals: the encoded forms of each keyword (the search itself is
//! [`super::literals`]), and cutting large inputs for parallel search.

use super::*;

/// The base64 forms of `keyword` that `rules` ask for: base64 at each alignment (or at the
/// one where it starts a group), base64 in base64, UTF-16 in base64.
pub(super) fn encoded_forms(keyword: &[u8], rules: &[&Rule]) -> Vec<(String, usize)> {
    let wants = |d: Decode| rules.iter().any(|r| r.decodes(d));
    let mut out = Vec::new();
    if wants(Decode::Base64) {
        out.extend(base64_signatures(keyword));
    } else if wants(Decode::Base64Aligned) {
        // The alignment where the keyword starts a group (its signature starts the group).
        out.extend(base64_signatures(keyword).into_iter().filter(|&(_, back)| back == 0));
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

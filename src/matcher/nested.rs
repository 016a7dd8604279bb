//! Text decoded from base64 (a Kubernetes Secret, base64 inside base64) is searched again,
//! and what it holds is reported at the encoded position.

use super::*;

impl super::Matcher {
    /// Decodes base64 from the group starting at `group` and reports the tokens inside at the
    /// encoded position.
    #[inline(never)]
    pub(super) fn base64_at<H: Found>(
        &self,
        hay: &[u8],
        group: usize,
        depth: u8,
        near: bool,
        out: &mut Vec<H>,
    ) -> usize {
        let end = if near { (group + NEAR_ENCODED).min(hay.len()) } else { hay.len() };
        // Near text decoded in full, the line is enough: that decoding crossed line ends.
        let used = self.base64_from(hay, group..end, depth, !near, false, out);
        // For base64 inside base64, the signature's group may start after the start of the
        // inner group that holds the token (the inner signature then stands too close to the
        // start of the decoded text to be decoded itself): decode from one group earlier too,
        // keeping only what that finds in the nested layer.
        // (Not for a signature inside text decoded in full: that decode started earlier.)
        if !near
            && depth + 1 < MAX_DEPTH
            && group >= 4
            && decode_base64_prefix(&hay[group - 4..group]).1 == 4
        {
            self.base64_from(hay, group - 4..end, depth, true, true, out);
        }
        group + used
    }

    /// Decodes `hay[group..end]` (across line ends when `wrap`, see
    /// [`encoding::decode_base64_wrapped`]) and reports the tokens inside (only those in a
    /// further base64 layer when `nested_only`); returns how many bytes of `hay` the decoding
    /// read.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn base64_from<H: Found>(
        &self,
        hay: &[u8],
        Range { start: group, end }: Range<usize>,
        depth: u8,
        wrap: bool,
        nested_only: bool,
        out: &mut Vec<H>,
    ) -> usize {
        let decoded = encoding::decode_base64_wrapped(&hay[..end], group, wrap);
        if decoded.bytes.len() < 3 {
            return decoded.consumed;
        }
        let mut inner: Vec<H> = Vec::new();
        self.find_into(&decoded.bytes, depth + 1, &mut inner);
        for h in inner {
            if nested_only && h.get().encoding != Encoding::Base64 {
                continue;
            }
            let span = decoded.text_range(h.get().span.clone());
            let secret = decoded.text_range(h.get().secret.clone());
            let mut h = h.moved(
                group + span.start..group + span.end,
                group + secret.start..group + secret.end,
            );
            h.get_mut().encoding = Encoding::Base64;
            out.push(h);
        }
        decoded.consumed
    }
}

//! Structured tokens (`prefix<sep>part<sep>part`): the prefix claimed by a rule, the parts
//! with their alphabets and lengths, encoded separators, UTF-16 text, quoted-printable soft
//! breaks; then checksums, shapes and known examples.

use super::softbreak::*;
use super::*;

impl super::Matcher {
    /// A structured token starting at `at` (where keyword `g` stands), if there is a valid
    /// one: the first rule of the group whose prefix and parts fit claims it (a disabled one
    /// too, which then reports nothing). The parts are separated by the rule's separator or
    /// by an encoded form of it (the same one each time); the token id and fingerprint are
    /// those of the token with plain separators.
    #[inline(never)]
    /// (The caller checks that a token may start at `at`: [`boundary_before`].)
    pub(super) fn structured_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        // The next 8 bytes as one word: most prefixes are compared in one step.
        let rest = &hay[at..];
        let mut head = [0u8; 8];
        let n = rest.len().min(8);
        head[..n].copy_from_slice(&rest[..n]);
        let word = u64::from_le_bytes(head);
        for claim in &self.groups[g].claims {
            let rule = claim.rule;
            let Detector::Structured(s) = &self.rules[rule].detector else { continue };
            let prefix_len = match &claim.test {
                PrefixTest::Word { value, mask, len } if *len <= n && word & mask == *value => *len,
                PrefixTest::Word { .. } => continue,
                PrefixTest::Bytes(p) if rest.starts_with(p) => p.len(),
                PrefixTest::Bytes(_) => continue,
                PrefixTest::Pattern => match s.prefixes.len_at(rest) {
                    Some(len) => len,
                    None => continue,
                },
            };
            let Some(parsed) = self.parse_parts(hay, at + prefix_len, rule, s) else { continue };
            if self.disabled[rule] {
                return None;
            }
            return self.confirm_structured(hay, at, prefix_len, &parsed, rule, s);
        }
        None
    }

    /// The parts of a structured token after its prefix (which ends at `pos`).
    pub(super) fn parse_parts(
        &self,
        hay: &[u8],
        mut pos: usize,
        rule: usize,
        s: &Structured,
    ) -> Option<Parsed> {
        let Plan::Structured { encoded } = &self.plans[rule] else { return None };
        let sep: &[u8] = s.separator.as_bytes();
        let mut used: Range<usize> = pos..pos;
        let mut parsed = Parsed { ranges: [(0, 0); crate::rules::schema::MAX_PARTS], end: 0 };
        for (k, part) in s.parts.iter().enumerate() {
            if !sep.is_empty() {
                if k == 0 {
                    let rest = &hay[pos..];
                    let len = if rest.starts_with(sep) {
                        sep.len()
                    } else if matches!(rest.first(), Some(b'%' | b'&' | b'=' | b'\\')) {
                        encoded
                            .iter()
                            .find(|d| {
                                rest.get(..d.len()).is_some_and(|r| r.eq_ignore_ascii_case(d))
                            })?
                            .len()
                    } else {
                        return None;
                    };
                    used = pos..pos + len;
                } else if hay.get(pos..pos + used.len()) != Some(&hay[used.clone()]) {
                    return None;
                }
                pos += used.len();
            }
            let run = &hay[pos..(pos + part.max_len() + 1).min(hay.len())];
            let n = run.iter().position(|&b| !part.alphabet.contains(b)).unwrap_or(run.len());
            if !part.lengths.contains(&n) {
                return None;
            }
            parsed.ranges[k] = (pos, pos + n);
            pos += n;
        }
        let last = s.parts.last()?;
        if hay.get(pos).is_some_and(|&b| b.is_ascii_alphanumeric() || last.alphabet.contains(b)) {
            return None;
        }
        parsed.end = pos;
        Some(parsed)
    }

    /// The checks after a rule claimed a structured token: checksum, shapes, known examples.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn confirm_structured<H: Found>(
        &self,
        hay: &[u8],
        at: usize,
        prefix_len: usize,
        parsed: &Parsed,
        rule: usize,
        s: &Structured,
    ) -> Option<H> {
        const MAX: usize = crate::rules::schema::MAX_PARTS;
        let mut all: [&[u8]; MAX] = [&[]; MAX];
        for (v, &(a, b)) in all.iter_mut().zip(&parsed.ranges[..s.parts.len()]) {
            *v = &hay[a..b];
        }
        let parts = &all[..s.parts.len()];
        if s.parts.iter().zip(parts).any(|(p, v)| !shape_holds(p.shape, v))
            || shape::made_up_across(&s.parts, parts)
        {
            return None;
        }
        if parts.iter().any(|v| self.known_parts.iter().any(|k| k == v)) {
            return None;
        }
        let sep = s.separator.as_bytes();
        let mut token = Vec::with_capacity(parsed.end - at);
        token.extend_from_slice(&hay[at..at + prefix_len]);
        let mut id_len = None;
        for (p, v) in s.parts.iter().zip(parts) {
            if p.role == Role::Secret && id_len.is_none() {
                id_len = Some(token.len());
            }
            token.extend_from_slice(sep);
            token.extend_from_slice(v);
        }
        let id_len = id_len.unwrap_or(token.len());
        if !checksum_holds(self.rules[rule].checksum, &token, parts)
            || self.known_examples.contains(&token)
        {
            return None;
        }
        let shown = String::from_utf8_lossy(&token[..id_len]).into_owned();
        let first_secret = s.parts.iter().position(|p| p.role == Role::Secret).unwrap_or(0);
        let has_id = first_secret > 0;
        let masked = format!("{shown}{}{MASK}", s.separator);
        let secret_from = id_len + s.separator.len();
        Some(H::found(
            Match {
                rule,
                span: at..parsed.end,
                secret: parsed.ranges[first_secret].0..parsed.end,
                masked,
                token_id: has_id.then_some(shown),
                fingerprint: fingerprint(&token),
                encoding: Encoding::Plain,
            },
            || (token.into_boxed_slice(), secret_from),
        ))
    }

    /// A structured token written in UTF-16 (either byte order, as Windows tools write text)
    /// whose first character stands at `at`: the characters are read from every other byte
    /// into a small buffer and checked there; the match covers the UTF-16 bytes.
    pub(super) fn utf16_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        let max_chars = self.structured_reach + 1;
        let mut chars = Vec::with_capacity(max_chars + 7);
        // The characters before, for the boundary check: up to six (an escape that ends in a
        // letter or digit, `%20` or `\u0020`, is a boundary too).
        let mut p = at;
        while chars.len() < 6 && p >= 2 && hay[p - 1] == 0 {
            chars.push(hay[p - 2]);
            if hay[p - 2] == 0 {
                break;
            }
            p -= 2;
        }
        chars.reverse();
        let first = chars.len();
        let mut i = at;
        while i < hay.len() && chars.len() <= max_chars {
            if i > at && hay[i - 1] != 0 {
                break;
            }
            chars.push(hay[i]);
            i += 2;
        }
        if !boundary_before(&chars, first) {
            return None;
        }
        let h: H = self.structured_at(&chars, first, g)?;
        if !self.rules[h.get().rule].decodes(Decode::Utf16) {
            return None;
        }
        let byte = |c: usize| at + 2 * (c - first);
        let (span, secret) = (h.get().span.clone(), h.get().secret.clone());
        Some(
            h.moved(byte(span.start)..byte(span.end) - 1, byte(secret.start)..byte(secret.end) - 1),
        )
    }

    /// A structured token starting at `at` and cut by quoted-printable soft line breaks (`=`
    /// before a line end, which e-mail bodies have every 76 characters at most): checked on a
    /// copy without them, only when one stands within reach.
    #[inline(never)]
    pub(super) fn soft_broken_at<H: Found>(&self, hay: &[u8], at: usize, g: usize) -> Option<H> {
        // (Which rule claims the token, and whether it reads soft breaks, is asked of the
        // copy: a soft break stands within reach only in e-mail.)
        if !self.groups[g].soft_breaks {
            return None;
        }
        let reach = self.structured_reach;
        let end = (at + reach + 3 * (reach / 76 + 2) + 1).min(hay.len());
        let window = &hay[at..end];
        if !memchr::memchr_iter(b'=', window).any(|i| soft_break_len(window, i) > 0)
            || !boundary_before(hay, at)
        {
            return None;
        }
        let joined = unbreak(hay, at..end);
        let h: H = self.structured_at(&joined.chars, 0, g)?;
        // The token must end where the copy shows its end, not at the end of the window.
        if (h.get().span.end == joined.chars.len() && end < hay.len())
            || !self.rules[h.get().rule].decodes(Decode::QuotedPrintable)
        {
            return None;
        }
        Some(joined.moved(h))
    }

    /// Whether `token` is a known public example, or one of their parts.
    pub(super) fn is_known(&self, token: &[u8]) -> bool {
        self.known_examples.iter().chain(&self.known_parts).any(|k| k == token)
    }
}

/// Where the parts of a structured token stand, and where it ends.
pub(super) struct Parsed {
    ranges: [(usize, usize); crate::rules::schema::MAX_PARTS],
    end: usize,
}

/// Whether a token passes its rule's offline checksum. Each [`Checksum`] kind is one arm
/// here; `token` is the whole token (separators plain), `parts` its parts.
pub(super) fn checksum_holds(kind: Checksum, token: &[u8], parts: &[&[u8]]) -> bool {
    let _ = parts;
    match kind {
        Checksum::None => true,
        Checksum::Github => checksum::github_classic(token),
        Checksum::GithubFineGrained => checksum::github_fine_grained(token),
        Checksum::GitlabRoutable => checksum::gitlab_routable(token),
        Checksum::Grafana => checksum::grafana_service_account(token),
        Checksum::GrafanaCloud => checksum::grafana_cloud(token),
        Checksum::GrafanaApiKey => checksum::grafana_api_key(token),
        Checksum::Atlassian => checksum::atlassian(token),
        Checksum::Pypi => checksum::pypi_macaroon(token) == Some(checksum::PypiIndex::Pypi),
    }
}

/// Whether a part or value passes its shape check.
pub(super) fn shape_holds(shape: Shape, part: &[u8]) -> bool {
    match shape {
        Shape::Random => !is_placeholder_part(part),
        Shape::MixedCase => is_plausible_legacy(part),
        Shape::Hex => !shape::is_placeholder_hex(part),
        Shape::Words => !shape::has_placeholder_words(part),
        Shape::None => true,
    }
}

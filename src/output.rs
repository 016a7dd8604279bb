//! The one gate every byte leaving the process passes: reports, messages, errors, files
//! written. A [`MaskingWriter`] holds what is written until it can see whole tokens, masks the
//! secret part of every token that the [`Masker`] knows (every built-in rule, whatever a
//! configuration disables, and the configuration's own rules once loaded), then passes it on.
//!
//! A path, a configuration key, a command-line argument, a commit subject or an error message
//! may spell a token: none of them needs its own masking, because none reaches the user
//! without passing here.

use std::io::{self, Write};
use std::ops::Range;
use std::sync::{Arc, RwLock};

use crate::matcher::Matcher;
use crate::rules::Rule;

/// Knows every token kind output must not show: the built-in rules (none disabled) and any
/// custom rules added. Built lazily: a run that prints nothing compiles nothing.
#[derive(Debug, Default)]
pub struct Masker {
    matcher: RwLock<Option<Arc<Matcher>>>,
    custom: RwLock<Vec<Rule>>,
}

impl Masker {
    /// A masker of the built-in rules.
    pub fn new() -> Arc<Masker> {
        Arc::new(Masker::default())
    }

    /// Adds custom rules (from a configuration): their tokens are masked too from now on.
    pub fn add_rules(&self, rules: &[Rule]) {
        if rules.is_empty() {
            return;
        }
        self.custom.write().expect("masker lock").extend(rules.iter().cloned());
        *self.matcher.write().expect("masker lock") = None;
    }

    /// The matcher of every rule, none disabled.
    pub fn matcher(&self) -> Arc<Matcher> {
        if let Some(m) = &*self.matcher.read().expect("masker lock") {
            return Arc::clone(m);
        }
        let custom = self.custom.read().expect("masker lock").clone();
        let m = if custom.is_empty() {
            Matcher::builtin_shared()
        } else {
            let mut rules = crate::rules::builtin();
            rules.extend(custom);
            Arc::new(Matcher::new(rules, &[]))
        };
        *self.matcher.write().expect("masker lock") = Some(Arc::clone(&m));
        m
    }

    /// `text` with the secret part of every token in it masked.
    pub fn mask_str(&self, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        let matcher = self.matcher();
        let found = matcher.find(text.as_bytes());
        if found.is_empty() {
            return text.to_string();
        }
        let secrets: Vec<Range<usize>> = found.into_iter().map(|m| m.secret).collect();
        String::from_utf8_lossy(&crate::mask::mask(text.as_bytes(), &secrets)).into_owned()
    }
}

/// Bytes before the point written out that later text is searched with: a key on an earlier
/// line (`- name: DT_API_TOKEN`) for a value after it.
const CONTEXT: usize = 4 << 10;
/// Bytes kept back at the end of what is held: longer than any token in any encoding, so a
/// token that is not whole yet is never passed on in part.
const HOLD: usize = 20 << 10;
/// What is held before some of it is masked and passed on.
const CHUNK: usize = 256 << 10;

/// A writer that masks every token before passing bytes on (see the module documentation).
/// `flush` passes on everything held; dropping the writer flushes it.
pub struct MaskingWriter<W: Write> {
    /// `None` only after [`MaskingWriter::into_inner`].
    inner: Option<W>,
    masker: Arc<Masker>,
    /// Held bytes: `buf[..done]` is context already passed on, the rest is still held.
    buf: Vec<u8>,
    done: usize,
    /// Secret ranges (into `buf`) found earlier that reach into what is still held.
    pending: Vec<Range<usize>>,
    out: Vec<u8>,
}

impl<W: Write> MaskingWriter<W> {
    /// Masks what is written with `masker` and passes it on to `inner`.
    pub fn new(inner: W, masker: Arc<Masker>) -> Self {
        MaskingWriter {
            inner: Some(inner),
            masker,
            buf: Vec::new(),
            done: 0,
            pending: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Masks and passes on held bytes: all of them, or all but [`HOLD`] (never cutting a
    /// token found), keeping [`CONTEXT`] bytes before the cut for what comes next.
    fn drain(&mut self, all: bool) -> io::Result<()> {
        if self.buf.len() == self.done {
            return Ok(());
        }
        let matcher = self.masker.matcher();
        let found = matcher.find(&self.buf);
        let mut cut = if all { self.buf.len() } else { self.buf.len().saturating_sub(HOLD) };
        let mut secrets: Vec<Range<usize>> = std::mem::take(&mut self.pending);
        for m in &found {
            if m.span.start < cut && m.span.end > cut {
                cut = m.span.start;
            }
            secrets.push(m.secret.clone());
        }
        let cut = cut.max(self.done);
        if cut == self.done {
            self.pending = secrets;
            return Ok(());
        }
        let range = self.done..cut;
        let local: Vec<Range<usize>> = secrets
            .iter()
            .filter(|r| r.start < range.end && r.end > range.start)
            .map(|r| r.start.max(range.start) - range.start..r.end.min(range.end) - range.start)
            .collect();
        self.out.clear();
        crate::mask::mask_into(&self.buf[range.clone()], &local, &mut self.out);
        self.inner.as_mut().expect("writer in use").write_all(&self.out)?;
        // Keep the context before the cut, and the secret ranges that reach past it.
        let keep_from = cut.saturating_sub(CONTEXT);
        self.buf.drain(..keep_from);
        self.done = cut - keep_from;
        self.pending = secrets
            .into_iter()
            .filter(|r| r.end > cut)
            .map(|r| r.start.saturating_sub(keep_from)..r.end - keep_from)
            .collect();
        Ok(())
    }

    /// Passes on everything held, then gives the inner writer itself, for output that is
    /// already masked with this writer's masker (the `mask` command's copy of its input).
    pub fn passthrough(&mut self) -> io::Result<&mut W> {
        self.flush()?;
        Ok(self.inner.as_mut().expect("writer in use"))
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.inner.take().expect("writer in use"))
    }
}

impl<W: Write> Write for MaskingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() - self.done >= CHUNK + HOLD {
            self.drain(false)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.inner.is_none() {
            return Ok(());
        }
        self.drain(true)?;
        self.inner.as_mut().expect("writer in use").flush()
    }
}

impl<W: Write> Drop for MaskingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(seed: u64) -> (String, String) {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut chars = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[(x % 32) as usize])
                })
                .collect()
        };
        // Random parts, drawn again where they happen to look made up (a fixture word).
        loop {
            let (public, secret) = (chars(24), chars(64));
            if !crate::matcher::is_placeholder_token([public.as_bytes(), secret.as_bytes()]) {
                return (format!("dt0c01.{public}.{secret}"), secret);
            }
        }
    }

    /// Written in pieces of every size, with tokens across every cut, nothing secret passes
    /// and everything else arrives byte for byte.
    #[test]
    fn masks_tokens_across_writes_and_keeps_the_rest() {
        let mut text = String::new();
        let mut secrets = Vec::new();
        for i in 0..4000u64 {
            let (t, s) = token(i);
            text.push_str(&format!(
                "line {i}: key=\"{t}\" and some words {}\n",
                "x".repeat((i % 97) as usize)
            ));
            secrets.push(s);
        }
        for piece in [1, 7, 100, 4096, 1 << 20] {
            let mut w = MaskingWriter::new(Vec::new(), Masker::new());
            for part in text.as_bytes().chunks(piece) {
                w.write_all(part).unwrap();
            }
            let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
            assert_eq!(out.len(), text.len(), "piece {piece}");
            for s in &secrets {
                assert!(!out.contains(s.as_str()), "piece {piece}: a secret passed");
            }
            assert_eq!(out.matches(&"*".repeat(64)).count(), secrets.len(), "piece {piece}");
        }
    }

    #[test]
    fn a_key_on_an_earlier_line_is_seen_after_a_cut() {
        let mut w = MaskingWriter::new(Vec::new(), Masker::new());
        let filler = "y".repeat(CHUNK + HOLD);
        write!(w, "{filler}\n- name: DT_API_TOKEN\n").unwrap();
        w.flush().unwrap();
        // The value arrives after the key was passed on.
        w.write_all(b"  value: ztUjAwyuh1vauWv1zh87m\n").unwrap(); // tokenguard:allow
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(!out.contains("ztUjAwyuh1vauWv1zh87m"), "the value passed"); // tokenguard:allow
    }
}

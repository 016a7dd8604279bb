//! [`Secret`]: the bytes of a whole token, which nothing may print.
//!
//! A stand-in until the matcher hands out its own secret type: the verification stage needs
//! only [`Secret::new`] and [`Secret::expose`], so swapping it is a one-line change.

use std::fmt;

/// A whole token (secret part included). `Debug` prints `Secret(***)`; there is no `Display`
/// and no `Serialize`, so a secret cannot reach a report, a log or an error by accident. The
/// bytes are overwritten when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the bytes of a token.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    /// The token's bytes, for the one place that must send them (a request's header or body).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The token as text, if it is UTF-8 (every token a rule finds is ASCII).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The part after the last `.`: what a report must never show.
    pub fn secret_part(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'.') {
            Some(dot) => &self.0[dot + 1..],
            None => &self.0,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference; the volatile write keeps
            // the compiler from dropping the overwrite of memory about to be freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = Secret::new("dt0c01.PUBLIC.SECRETPART");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
        assert_eq!(s.secret_part(), b"SECRETPART");
        assert_eq!(Secret::new("nodots").secret_part(), b"nodots");
    }
}

//! [`Secret`]: the bytes of a whole token, which nothing may print. The matcher hands them
//! out (`Matcher::find_with_tokens`) to the verification stage only.

pub use crate::matcher::Secret;

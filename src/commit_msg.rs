//! A commit message as git will store it: what `scan --commit-msg` scans.
//!
//! git hands the commit-msg hook the message file before it cleans it up. When an editor was
//! used, git cuts everything from the scissors line on (the diff `git commit -v` shows below
//! it) and, in its default cleanup mode (`strip`), drops comment lines (`#`, or
//! `core.commentChar` / `core.commentString`). Without an editor (`-m`, `-F`, a rebase's
//! picks) git keeps every line but trims whitespace. A hook learns which case it is in from
//! `GIT_EDITOR`, which git sets to `:` for its hooks when no editor is used (githooks(5)).
//!
//! Where a hook cannot know what git will do (a `--cleanup=` given on the command line,
//! `core.commentChar=auto` without a scissors line), lines are kept: a comment scanned by
//! mistake can only cause a false alarm, a committed line left out would let a token through.

/// git's scissors line, after the comment string and a space.
const CUT_LINE: &[u8] = b"------------------------ >8 ------------------------";

/// The characters git picks from when `core.commentChar` is `auto`.
const AUTO_COMMENT_CHARS: &[u8] = b"#;@!$%^&|:";

/// Which lines of a message file git leaves out of the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    /// Whether an editor was used (then the scissors cut applies).
    edited: bool,
    /// Whether comment lines are dropped (the default and `strip` modes, when edited).
    strip_comments: bool,
    /// The comment string; `None` for `auto` (known only from a scissors line).
    comment: Option<Vec<u8>>,
}

impl Cleanup {
    /// The rules for a message that was `edited` (or not), under `commit.cleanup` = `mode`
    /// and `core.commentChar` / `core.commentString` = `comment` (`None`: unset).
    pub fn new(edited: bool, mode: Option<&str>, comment: Option<&str>) -> Cleanup {
        let mode = mode.unwrap_or("default").trim().to_ascii_lowercase();
        let strip_comments = edited && matches!(mode.as_str(), "default" | "strip");
        let comment = match comment {
            None => Some(b"#".to_vec()),
            Some(c) if c.eq_ignore_ascii_case("auto") || c.is_empty() => None,
            Some(c) => Some(c.as_bytes().to_vec()),
        };
        Cleanup { edited, strip_comments, comment }
    }

    /// The rules for the hook this process runs in: `GIT_EDITOR` and the configuration of
    /// `repo` (git's defaults without one).
    pub fn from_git(repo: Option<&git2::Repository>) -> Cleanup {
        let edited = std::env::var_os("GIT_EDITOR").is_none_or(|v| v != ":");
        let config = repo.and_then(|r| r.config().ok());
        let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
        let comment = get("core.commentString").or_else(|| get("core.commentChar"));
        Cleanup::new(edited, get("commit.cleanup").as_deref(), comment.as_deref())
    }

    /// `message` with what git will not store left out: everything from the scissors line on
    /// is cut, and comment lines are emptied (their line end kept, so that line numbers stay
    /// those of the file).
    pub fn apply(&self, message: &[u8]) -> Vec<u8> {
        let mut comment = self.comment.clone();
        let mut end = message.len();
        if self.edited {
            if let Some((at, prefix)) = scissors(message, comment.as_deref()) {
                end = at;
                comment.get_or_insert(prefix);
            }
        }
        let kept = &message[..end];
        let comment = comment.filter(|_| self.strip_comments);
        let Some(comment) = comment else { return kept.to_vec() };
        let mut out = Vec::with_capacity(kept.len());
        for line in kept.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(&comment) {
                if line.ends_with(b"\n") {
                    out.push(b'\n');
                }
            } else {
                out.extend_from_slice(line);
            }
        }
        out
    }
}

/// Where the scissors line starts and the comment string in front of it: `comment` when
/// known, else any character git may pick for `auto`.
fn scissors(message: &[u8], comment: Option<&[u8]>) -> Option<(usize, Vec<u8>)> {
    let mut at = 0;
    for line in message.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if let Some(prefix) = text.strip_suffix(CUT_LINE).and_then(|p| p.strip_suffix(b" ")) {
            let matches = match comment {
                Some(c) => prefix == c,
                None => prefix.len() == 1 && AUTO_COMMENT_CHARS.contains(&prefix[0]),
            };
            if matches {
                return Some((at, prefix.to_vec()));
            }
        }
        at += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"subject T1\n\n# a comment T2\nbody T3\n; other T4\n\
        # ------------------------ >8 ------------------------\n\
        # Do not modify or remove the line above.\n+added T5\n";

    fn kept(c: &Cleanup, msg: &[u8]) -> String {
        String::from_utf8(c.apply(msg)).unwrap()
    }

    #[test]
    fn an_edited_message_loses_comments_and_everything_after_the_scissors() {
        let c = Cleanup::new(true, None, None);
        assert_eq!(kept(&c, MSG), "subject T1\n\n\nbody T3\n; other T4\n");
        assert_eq!(Cleanup::new(true, Some("strip"), None), c);
    }

    #[test]
    fn a_message_given_without_an_editor_is_kept_whole() {
        let c = Cleanup::new(false, None, None);
        assert_eq!(c.apply(MSG), MSG);
        assert_eq!(Cleanup::new(false, Some("strip"), None).apply(MSG), MSG);
    }

    #[test]
    fn modes_that_keep_comments_still_cut_at_the_scissors() {
        for mode in ["verbatim", "whitespace", "scissors"] {
            let c = Cleanup::new(true, Some(mode), None);
            assert_eq!(kept(&c, MSG), "subject T1\n\n# a comment T2\nbody T3\n; other T4\n");
        }
    }

    #[test]
    fn a_configured_comment_string_is_used() {
        let c = Cleanup::new(true, None, Some(";"));
        // The `#` scissors line is not git's here: nothing is cut, `;` lines are comments.
        let out = kept(&c, MSG);
        assert!(out.contains("# a comment T2\n") && !out.contains("T4") && out.contains("T5"));
        let c = Cleanup::new(true, None, Some("//"));
        assert_eq!(kept(&c, b"a\n// b\nc\n"), "a\n\nc\n");
    }

    #[test]
    fn auto_takes_the_comment_character_from_the_scissors_line_or_keeps_every_line() {
        let c = Cleanup::new(true, None, Some("auto"));
        assert_eq!(kept(&c, MSG), "subject T1\n\n\nbody T3\n; other T4\n");
        let msg = b"#1 is fixed T1\n; comment T2\n; ------------------------ >8 ------------------------\ndiff T3\n";
        assert_eq!(kept(&c, msg), "#1 is fixed T1\n\n");
        // No scissors line: the character git picked is unknown, every line is kept.
        assert_eq!(kept(&c, b"#1 T1\n; c T2\n"), "#1 T1\n; c T2\n");
    }

    #[test]
    fn line_numbers_are_kept_and_a_last_line_without_newline_works() {
        let c = Cleanup::new(true, None, None);
        assert_eq!(kept(&c, b"# c\n\n# c\nx T"), "\n\n\nx T");
        assert_eq!(kept(&c, b"x\n# c"), "x\n");
        assert_eq!(kept(&c, b"x\r\n# c\r\ny\r\n"), "x\r\n\ny\r\n");
    }
}

//! How a run ends: the three exit codes of every command and hook.

/// The exit status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing found, or everything found is allowed (exit 0).
    Clean = 0,
    /// Tokens found: the commit or push is blocked (exit 1).
    Findings = 1,
    /// Bad input, bad configuration, an unreadable file: the message names the cause (exit 2).
    Error = 2,
}

impl ExitStatus {
    /// `Findings` when `blocking` findings were reported, else `Clean`.
    pub fn from_findings(blocking: usize) -> ExitStatus {
        if blocking == 0 {
            ExitStatus::Clean
        } else {
            ExitStatus::Findings
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s as u8)
    }
}

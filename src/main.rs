//! The binary: parse the command line, run, and turn the outcome into an exit code
//! (0 clean, 1 findings, 2 error). Nothing else.

use std::process::ExitCode;

use tokenguard::report::sanitize;

fn main() -> ExitCode {
    tokenguard::app::install_panic_hook();
    tokenguard::app::tune_allocator();
    // The version with the commit it was built from (build.rs sets it for the binary).
    let cli = match tokenguard::cli::parse(env!("TOKENGUARD_LONG_VERSION")) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match tokenguard::app::run(cli) {
        Ok(tokenguard::app::Outcome::Clean) => ExitCode::from(0),
        Ok(tokenguard::app::Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            // Errors name paths and refs, which come from the repository: hostile text.
            let shown =
                |e: &dyn std::fmt::Display| sanitize::for_terminal(&e.to_string()).into_owned();
            eprintln!("tokenguard: error: {}", shown(&e));
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  cause: {}", shown(&cause));
                source = cause.source();
            }
            ExitCode::from(2)
        }
    }
}

//! The binary: parse the command line, run, and turn the outcome into an exit code
//! (0 clean, 1 findings, 2 error). Nothing else. Everything it prints, clap's own messages
//! included, goes through the masking writers of [`tokenguard::app::Io`].

use std::io::Write;
use std::process::ExitCode;

use tokenguard::sanitize;

fn main() -> ExitCode {
    tokenguard::app::install_panic_hook();
    tokenguard::app::tune_allocator();
    let mut io = tokenguard::app::Io::std();
    // The version with the commit it was built from (build.rs sets it for the binary).
    let code = match tokenguard::cli::parse(env!("TOKENGUARD_LONG_VERSION")) {
        // `--help` and `--version` go to standard output; usage errors to standard error.
        Err(e) => {
            let text = e.render().to_string();
            let (sink, code) = if e.use_stderr() { (&mut io.err, 2) } else { (&mut io.out, 0) };
            let _ = sink.write_all(text.as_bytes());
            code
        }
        Ok(cli) => match tokenguard::app::run(cli.into_command(), &mut io) {
            Ok(status) => status as u8,
            Err(e) => {
                // Errors name paths and refs, which come from the repository: hostile text.
                let shown =
                    |e: &dyn std::fmt::Display| sanitize::for_terminal(&e.to_string()).into_owned();
                let mut text = format!("tokenguard: error: {}\n", shown(&e));
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text.push_str(&format!("  cause: {}\n", shown(&cause)));
                    source = cause.source();
                }
                let _ = io.err.write_all(text.as_bytes());
                tokenguard::ExitStatus::Error as u8
            }
        },
    };
    let _ = io.out.flush();
    let _ = io.err.flush();
    ExitCode::from(code)
}

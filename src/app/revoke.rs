//! `scan --verify --disable` (`--delete`): switches off the tokens the scan's checks confirmed
//! active, through Dynatrace's access tokens API, with an administrator token read from the
//! environment (never from a file of the repository). Lists what it will do and asks first,
//! unless `--yes`.

use std::io::{self, IsTerminal, Write};

use super::Io;
use crate::pipeline::verify::Checks;
use crate::verify::revoke::{self, Action, ADMIN_TOKEN_VAR};
use crate::{Error, Result};

/// Switches off the active tokens that `checks` confirmed (after the report is written).
pub fn run(checks: &Checks, action: Action, yes: bool, io: &mut Io) -> Result<()> {
    let items = revoke::plan(&checks.finish());
    if items.is_empty() {
        io.note("tokenguard: no token was confirmed active: nothing to switch off");
        return Ok(());
    }
    if !yes && !io::stdin().is_terminal() {
        return Err(Error::Invalid(
            "switching tokens off asks for confirmation on a terminal; pass --yes to go ahead \
             without asking"
                .into(),
        ));
    }
    let admin =
        revoke::admin_token_from_env(ADMIN_TOKEN_VAR).map_err(|e| Error::Invalid(e.to_string()))?;
    let stdin = io::stdin();
    let confirmed = revoke::confirm(&items, action, &mut stdin.lock(), &mut io.err, yes)
        .map_err(|source| Error::Read { path: "standard input".into(), source })?;
    let _ = io.err.flush();
    if !confirmed {
        io.note("tokenguard: nothing was switched off");
        return Ok(());
    }
    let outcomes = revoke::revoke(checks.verifier().transport(), &items, action, &admin);
    let mut failed = 0;
    for o in &outcomes {
        match &o.result {
            Ok(Action::Disable) => {
                io.note(&format!("tokenguard: disabled {} at {}", o.token_id, o.environment))
            }
            Ok(Action::Delete) => {
                io.note(&format!("tokenguard: deleted {} at {}", o.token_id, o.environment))
            }
            Err(why) => {
                failed += 1;
                io.note(&format!(
                    "tokenguard: could not switch off {} at {}: {why}",
                    o.token_id, o.environment
                ));
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Error::Invalid(format!("{n} token(s) could not be switched off (see above)"))),
    }
}

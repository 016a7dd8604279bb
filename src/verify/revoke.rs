//! Switching confirmed tokens off: disable (`PUT /api/v2/apiTokens/{id}` with
//! `{"enabled": false}`, reversible) or, on an explicit request, delete
//! (`DELETE /api/v2/apiTokens/{id}`). `{id}` is the token id (prefix and public part), as
//! Dynatrace documents it; the secret never goes in a URL.
//!
//! The calls authenticate with an administrator token (scope `apiTokens.write`) read from an
//! environment variable, never from a file. The flow: [`plan`] lists what would be switched
//! off, [`confirm`] shows it and asks (or takes `--yes`), [`revoke`] does it and reports each
//! outcome.

use std::io::{BufRead, Write};

use super::environment::Environment;
use super::secret::Secret;
use super::spec::CheckSpec;
use super::status::{clean_text, interpret, Status, Verification};
use super::transport::{Method, Request, Transport, TransportError};
use super::Verifications;

/// The environment variable holding the administrator token.
pub const ADMIN_TOKEN_VAR: &str = "TOKENGUARD_DYNATRACE_ADMIN_TOKEN";

/// What to do with each token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `enabled: false`: the token stops working and can be enabled again.
    Disable,
    /// The token is deleted for good.
    Delete,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Disable => "disable",
            Action::Delete => "delete",
        }
    }
}

/// One token to switch off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Prefix and public part: the `{id}` of the call.
    pub token_id: String,
    /// The environment where the token was found active.
    pub environment: Environment,
    /// Token name, owner and risk, as the lookup gave them (for the confirmation).
    pub name: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Risk line.
    pub risk: Option<String>,
}

/// How one call went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The token.
    pub token_id: String,
    /// Where.
    pub environment: Environment,
    /// `Ok` with what was done, or why it failed.
    pub result: Result<Action, String>,
}

/// Why revoking cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// No administrator token in the environment.
    #[error(
        "no administrator token: set {0} to a Dynatrace access token with the apiTokens.write \
         scope (from a secret store, never from a file in the repository)"
    )]
    MissingAdminToken(String),
}

/// Reads the administrator token from the environment variable `var`.
pub fn admin_token_from_env(var: &str) -> Result<Secret, RevokeError> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => Ok(Secret::new(v.to_string_lossy().trim().as_bytes())),
        _ => Err(RevokeError::MissingAdminToken(var.to_string())),
    }
}

/// The tokens confirmed active (and of a kind the access tokens API manages), with the
/// environment that confirmed them, ordered by environment and id.
pub fn plan(results: &Verifications) -> Vec<Item> {
    let mut items: Vec<Item> = results
        .iter()
        .filter(|(_, v)| v.revocable && v.verification.status == Status::Active)
        .filter_map(|(_, v)| {
            let env = v.verification.environment.clone()?;
            valid_id(&v.token_id).then(|| Item {
                token_id: v.token_id.clone(),
                environment: env,
                name: v.verification.token.as_ref().and_then(|t| t.name.clone()),
                owner: v.verification.token.as_ref().and_then(|t| t.owner.clone()),
                risk: v.verification.risk.clone(),
            })
        })
        .collect();
    items.sort_by(|a, b| (&a.environment, &a.token_id).cmp(&(&b.environment, &b.token_id)));
    items
}

/// A token id fit for a URL path: `prefix.public`, letters and digits.
fn valid_id(id: &str) -> bool {
    let mut parts = id.split('.');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// Shows `items` on `out` and asks on `input` whether to go ahead; `assume_yes` (`--yes`)
/// answers yes without reading. Only `y` or `yes` (any case) proceeds; anything else, or end
/// of input, declines. The CLI must refuse to prompt when its input is not a terminal and
/// `--yes` was not given.
pub fn confirm(
    items: &[Item],
    action: Action,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    assume_yes: bool,
) -> std::io::Result<bool> {
    if items.is_empty() {
        writeln!(out, "No active token to {}.", action.verb())?;
        return Ok(false);
    }
    writeln!(
        out,
        "These {} token(s) were confirmed active and will be {}d:",
        items.len(),
        action.verb()
    )?;
    for it in items {
        write!(out, "  {}  at {}", it.token_id, it.environment)?;
        if let Some(n) = &it.name {
            write!(out, "  name {n:?}")?;
        }
        if let Some(o) = &it.owner {
            write!(out, "  owner {o}")?;
        }
        writeln!(out)?;
        if let Some(r) = &it.risk {
            writeln!(out, "      risk: {r}")?;
        }
    }
    if action == Action::Delete {
        writeln!(out, "Deleting cannot be undone; disabling can.")?;
    }
    if assume_yes {
        writeln!(out, "Proceeding (--yes).")?;
        return Ok(true);
    }
    write!(out, "{} {} token(s)? [y/N] ", capitalised(action.verb()), items.len())?;
    out.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Disables (or deletes) each token, authenticated with `admin`, and reports each outcome.
/// The administrator token is never used on itself.
pub fn revoke(
    transport: &Transport,
    items: &[Item],
    action: Action,
    admin: &Secret,
) -> Vec<Outcome> {
    let admin_id =
        admin.expose_str().and_then(|t| t.rsplit_once('.')).map(|(id, _)| id.to_string());
    let auth = [b"Api-Token ".as_slice(), admin.expose()].concat();
    items
        .iter()
        .map(|it| {
            let result = if !valid_id(&it.token_id) {
                Err("not a token id".to_string())
            } else if admin_id.as_deref() == Some(it.token_id.as_str()) {
                Err("this is the administrator token itself; disable it in Dynatrace".to_string())
            } else {
                let request = Request {
                    method: if action == Action::Disable { Method::Put } else { Method::Delete },
                    path: format!("/api/v2/apiTokens/{}", it.token_id),
                    headers: vec![
                        ("Authorization".into(), Secret::new(auth.clone())),
                        ("Accept".into(), Secret::new("application/json; charset=utf-8")),
                        ("Content-Type".into(), Secret::new("application/json; charset=utf-8")),
                    ],
                    body: (action == Action::Disable).then(|| Secret::new(r#"{"enabled":false}"#)),
                };
                match transport.send(&it.environment, &request) {
                    Ok(r) if r.status == 204 || r.status == 200 => Ok(action),
                    Ok(r) => Err(match r.status {
                        400 => "refused (400): Dynatrace does not let a token switch off the one \
                                that authenticates the call"
                            .to_string(),
                        401 => "administrator token rejected (401): invalid, expired, or of \
                                another environment"
                            .to_string(),
                        403 => {
                            "administrator token lacks the apiTokens.write scope (403)".to_string()
                        }
                        404 => "token not found (404): already deleted?".to_string(),
                        300..=399 => format!("redirect ({}) not followed", r.status),
                        code => format!("unexpected answer (HTTP {code})"),
                    }),
                    Err(e) => Err(clean_text(&e.to_string(), admin)),
                }
            };
            Outcome { token_id: it.token_id.clone(), environment: it.environment.clone(), result }
        })
        .collect()
}

/// Looks `token` up in `env`, authenticated with `admin` instead of the token itself: after
/// [`revoke`], a disabled token can no longer authenticate its own lookup (401, `invalid`),
/// while this answers `disabled`. Dynatrace's lookup takes any access token of the
/// environment; the body names the token looked up.
pub fn lookup_as(
    transport: &Transport,
    env: &Environment,
    token: &Secret,
    admin: &Secret,
) -> Verification {
    let spec = CheckSpec::dynatrace_token_lookup();
    let Some(mut request) = spec.render(token) else {
        return Verification::unknown("the token is not text", Some(env.clone()));
    };
    let auth = [b"Api-Token ".as_slice(), admin.expose()].concat();
    for (name, value) in request.headers.iter_mut() {
        if name.eq_ignore_ascii_case("Authorization") {
            *value = Secret::new(auth.clone());
        }
    }
    let answer = transport.send(env, &request).map_err(|e| {
        // Transport errors name no secret; scrub the administrator token all the same.
        TransportError::Other(clean_text(&e.to_string(), admin))
    });
    interpret(&spec.response, env, answer, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> Item {
        Item {
            token_id: id.into(),
            environment: Environment::parse("https://abc12345.live.dynatrace.com").unwrap(),
            name: Some("ci".into()),
            owner: Some("a@b.example".into()),
            risk: Some("never expires".into()),
        }
    }

    #[test]
    fn confirm_needs_a_yes() {
        let items = [item("dt0c01.AAAA")];
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            ("n\n", false),
            ("\n", false),
            ("", false),
            ("yess\n", false),
        ] {
            let mut out = Vec::new();
            let ok =
                confirm(&items, Action::Disable, &mut answer.as_bytes(), &mut out, false).unwrap();
            assert_eq!(ok, expected, "{answer:?}");
            let shown = String::from_utf8(out).unwrap();
            assert!(shown.contains("dt0c01.AAAA  at https://abc12345.live.dynatrace.com"));
            assert!(shown.contains("Disable 1 token(s)? [y/N]"));
        }
        let mut out = Vec::new();
        assert!(confirm(&items, Action::Delete, &mut "".as_bytes(), &mut out, true).unwrap());
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.contains("cannot be undone") && shown.contains("(--yes)"));
        let mut out = Vec::new();
        assert!(!confirm(&[], Action::Disable, &mut "y\n".as_bytes(), &mut out, true).unwrap());
    }

    #[test]
    fn ids_are_prefix_and_public_part_only() {
        assert!(valid_id("dt0c01.ABC123"));
        for bad in ["dt0c01", "dt0c01.ABC.SECRET", "../x.y", "dt0c01.A/B", "dt0c01.", ".A"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn missing_admin_token_names_the_variable() {
        let err = admin_token_from_env("TOKENGUARD_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(err.to_string().contains("TOKENGUARD_TEST_SURELY_UNSET_VARIABLE"));
        assert!(err.to_string().contains("apiTokens.write"));
    }
}

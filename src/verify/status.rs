//! What a check found: [`Verification`] (serialised as the finding's `verification` object),
//! and the readers that turn an HTTP answer into one.

use serde::{Deserialize, Serialize};

use super::environment::Environment;
use super::risk;
use super::secret::Secret;
use super::spec::Interpreter;
use super::transport::{Response, TransportError};

/// Whether a token works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The environment accepted the token and it is enabled (or it authenticated and may not
    /// read itself: 403).
    Active,
    /// The token exists and is disabled.
    Disabled,
    /// Rejected (401): revoked, deleted, expired, or of another environment.
    Invalid,
    /// No answer that says (no environment, offline, timeout, 5xx, anything unexpected).
    Unknown,
}

impl Status {
    /// The status as the JSON report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Invalid => "invalid",
            Status::Unknown => "unknown",
        }
    }
}

/// What the lookup says about a token (present only when the environment answered with the
/// token's metadata). Field names follow the report; the comments name Dynatrace's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// `id`: prefix and public part, the id the access tokens API takes.
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `owner`.
    pub owner: Option<String>,
    /// `scopes`.
    pub scopes: Vec<String>,
    /// `expirationDate`; `null`: the token never expires.
    pub expires: Option<String>,
    /// `lastUsedDate`.
    pub last_used: Option<String>,
    /// `personalAccessToken`: a personal access token (true) or an API token (false).
    pub personal: Option<bool>,
}

/// The outcome of verifying one token: the JSON report's `verification` object. Without a
/// [`TokenInfo`] (every status but a 200 answer) the metadata keys are absent, not `null`:
/// absent means unknown, `"expires": null` means never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// active | disabled | invalid | unknown.
    pub status: Status,
    /// Why, in a few words (always set unless the token is plainly active or disabled).
    pub reason: Option<String>,
    /// The environment that gave the answer (`null` when none was tried).
    pub environment: Option<Environment>,
    /// The token's metadata, when the environment returned it.
    #[serde(flatten)]
    pub token: Option<TokenInfo>,
    /// For an active token: what it can do that matters, and "never expires".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
}

impl Verification {
    /// An `unknown` outcome with its reason.
    pub fn unknown(reason: impl Into<String>, environment: Option<Environment>) -> Verification {
        Verification {
            status: Status::Unknown,
            reason: Some(reason.into()),
            environment,
            token: None,
            risk: None,
        }
    }

    fn with_risk(mut self) -> Verification {
        if self.status == Status::Active {
            self.risk = risk::risk_line(self.token.as_ref());
        }
        self
    }

    /// Lines for a human report's finding block: status and where, then (when known) name,
    /// owner, scopes, expiry, last use and risk. Server text is already cleaned.
    pub fn summary(&self) -> Vec<String> {
        let mut first = format!("verification: {}", self.status.as_str());
        if let Some(env) = &self.environment {
            first.push_str(&format!(" at {env}"));
        }
        if let Some(r) = &self.reason {
            first.push_str(&format!(" ({r})"));
        }
        let mut lines = vec![first];
        if let Some(t) = &self.token {
            let personal = match t.personal {
                Some(true) => " (personal access token)",
                _ => "",
            };
            if let Some(n) = &t.name {
                lines.push(format!("token name: {n}{personal}"));
            }
            if let Some(o) = &t.owner {
                lines.push(format!("owner: {o}"));
            }
            let scopes = if t.scopes.is_empty() { "none".to_string() } else { t.scopes.join(", ") };
            lines.push(format!("scopes: {scopes}"));
            lines.push(format!("expires: {}", t.expires.as_deref().unwrap_or("never")));
            if let Some(u) = &t.last_used {
                lines.push(format!("last used: {u}"));
            }
        }
        if let Some(r) = &self.risk {
            lines.push(format!("risk: {r}"));
        }
        lines
    }

    /// True for the answers that settle the question (active, disabled): no other environment
    /// needs asking.
    pub fn is_definitive(&self) -> bool {
        matches!(self.status, Status::Active | Status::Disabled)
    }
}

/// Dynatrace's `ApiToken` object (only the fields read; others are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiToken {
    id: Option<String>,
    name: Option<String>,
    enabled: Option<bool>,
    personal_access_token: Option<bool>,
    owner: Option<String>,
    expiration_date: Option<String>,
    last_used_date: Option<String>,
    scopes: Option<Vec<String>>,
}

/// Dynatrace's `ErrorEnvelope`.
#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

/// Reads the answer of `env` to the check of `token`.
pub fn interpret(
    how: &Interpreter,
    env: &Environment,
    answer: Result<Response, TransportError>,
    token: &Secret,
) -> Verification {
    let response = match answer {
        Ok(r) => r,
        Err(e) => return Verification::unknown(e.to_string(), Some(env.clone())),
    };
    let v = match how {
        Interpreter::DynatraceApiToken => dynatrace(env, &response, token),
        Interpreter::Status { active, invalid } => {
            by_status(env, &response, active, invalid, token)
        }
    };
    v.with_risk()
}

fn dynatrace(env: &Environment, r: &Response, token: &Secret) -> Verification {
    let here = Some(env.clone());
    match r.status {
        200 => {
            let Ok(t) = serde_json::from_slice::<ApiToken>(&r.body) else {
                return Verification::unknown("malformed answer: 200 without token metadata", here);
            };
            let status = match t.enabled {
                Some(true) => Status::Active,
                Some(false) => Status::Disabled,
                None => return Verification::unknown("malformed answer: no `enabled`", here),
            };
            let clean = |s: Option<String>| s.map(|s| clean_text(&s, token));
            let info = TokenInfo {
                id: clean(t.id),
                name: clean(t.name),
                owner: clean(t.owner),
                scopes: t.scopes.unwrap_or_default().iter().map(|s| clean_text(s, token)).collect(),
                expires: clean(t.expiration_date),
                last_used: clean(t.last_used_date),
                personal: t.personal_access_token,
            };
            Verification { status, reason: None, environment: here, token: Some(info), risk: None }
        }
        401 => Verification {
            status: Status::Invalid,
            reason: Some(with_message(
                "rejected (401): revoked, deleted, expired or of another environment",
                r,
                token,
            )),
            environment: here,
            token: None,
            risk: None,
        },
        403 => Verification {
            status: Status::Active,
            reason: Some(with_message(
                "authenticated, but may not read its own metadata (403): scopes unknown",
                r,
                token,
            )),
            environment: here,
            token: None,
            risk: None,
        },
        404 => Verification::unknown(
            with_message(
                "no token lookup at this URL (404): is it the environment's API base URL?",
                r,
                token,
            ),
            here,
        ),
        _ => Verification::unknown(other_status(r, token), here),
    }
}

fn by_status(
    env: &Environment,
    r: &Response,
    active: &[u16],
    invalid: &[u16],
    token: &Secret,
) -> Verification {
    let here = Some(env.clone());
    let code = r.status;
    if active.contains(&code) {
        Verification {
            status: Status::Active,
            reason: None,
            environment: here,
            token: None,
            risk: None,
        }
    } else if invalid.contains(&code) {
        Verification {
            status: Status::Invalid,
            reason: Some(format!("rejected ({code})")),
            environment: here,
            token: None,
            risk: None,
        }
    } else {
        Verification::unknown(other_status(r, token), here)
    }
}

fn other_status(r: &Response, token: &Secret) -> String {
    let code = r.status;
    match code {
        300..=399 => format!(
            "redirect ({code}) not followed{}",
            r.location
                .as_deref()
                .map(|l| format!(" (to {})", clean_text(l, token)))
                .unwrap_or_default()
        ),
        429 => with_message("rate limited (429)", r, token),
        500..=599 => with_message(&format!("server error ({code})"), r, token),
        _ => with_message(&format!("unexpected answer (HTTP {code})"), r, token),
    }
}

/// `base`, plus the server's own error message when it is short, printable and holds nothing
/// that looks like a secret.
fn with_message(base: &str, r: &Response, token: &Secret) -> String {
    let message = serde_json::from_slice::<ErrorEnvelope>(&r.body)
        .ok()
        .and_then(|e| e.error)
        .and_then(|e| e.message)
        .map(|m| clean_text(&m, token))
        .filter(|m| !m.is_empty() && m.len() <= 160 && !looks_secret(m));
    match message {
        Some(m) => format!("{base}: {m}"),
        None => base.to_string(),
    }
}

/// A run of 40 or more letters and digits: maybe a secret part or an encoded token; never
/// echoed. (Scope names, the longest about 30, and 24-character public parts pass.)
fn looks_secret(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        run = if b.is_ascii_alphanumeric() { run + 1 } else { 0 };
        if run >= 40 {
            return true;
        }
    }
    false
}

/// Text from a server, made safe to print: the token and its secret part replaced, control
/// and bidi characters dropped, at most 200 characters.
pub(crate) fn clean_text(text: &str, token: &Secret) -> String {
    let mut s = text.to_string();
    for needle in [token.expose(), token.secret_part()] {
        if let Ok(n) = std::str::from_utf8(needle) {
            if n.len() >= 8 {
                s = s.replace(n, "***");
            }
        }
    }
    s.chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .take(200)
        .collect()
}

/// The outcome over several environments, tried in order: the first active or disabled
/// answer; else invalid if every environment rejected the token; else unknown, with each
/// environment's reason.
pub fn combine(tried: Vec<Verification>, untried: usize) -> Verification {
    if let Some(found) = tried.iter().find(|v| v.is_definitive()) {
        return found.clone();
    }
    if tried.is_empty() {
        return Verification::unknown("no environment", None);
    }
    let all_invalid = tried.iter().all(|v| v.status == Status::Invalid);
    if tried.len() == 1 && untried == 0 {
        return tried.into_iter().next().expect("one");
    }
    let mut reasons: Vec<String> = tried
        .iter()
        .map(|v| {
            let env = v.environment.as_ref().map(|e| e.to_string()).unwrap_or_default();
            format!("{env}: {}", v.reason.as_deref().unwrap_or(v.status.as_str()))
        })
        .collect();
    if untried > 0 {
        reasons.push(format!("{untried} more environment(s) not tried"));
    }
    let reason = reasons.join("; ");
    if all_invalid && untried == 0 {
        Verification {
            status: Status::Invalid,
            reason: Some(format!("rejected by every environment tried ({reason})")),
            environment: None,
            token: None,
            risk: None,
        }
    } else {
        Verification::unknown(reason, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::parse("https://abc12345.live.dynatrace.com").unwrap()
    }

    fn answer(status: u16, body: &str) -> Result<Response, TransportError> {
        Ok(Response { status, location: None, body: body.as_bytes().to_vec() })
    }

    fn token() -> Secret {
        Secret::new("dt0c01.PUBLICPUBLICPUBLICPUBLIC.SECRETSECRETSECRETSECRETSECRET")
    }

    fn read(status: u16, body: &str) -> Verification {
        interpret(&Interpreter::DynatraceApiToken, &env(), answer(status, body), &token())
    }

    #[test]
    fn maps_the_documented_api_token_fields() {
        let v = read(
            200,
            r#"{"id":"dt0c01.PUBLICPUBLICPUBLICPUBLIC","name":"ci","enabled":true,
                "personalAccessToken":false,"owner":"a@b.example","creationDate":"2020-01-01T00:00:00.000Z",
                "expirationDate":null,"lastUsedDate":"2024-05-01T10:00:00.000Z",
                "lastUsedIpAddress":"10.0.0.1","modifiedDate":null,"scopes":["metrics.read","WriteConfig"],
                "additionalMetadata":{}}"#,
        );
        assert_eq!(v.status, Status::Active);
        let t = v.token.as_ref().unwrap();
        assert_eq!(t.id.as_deref(), Some("dt0c01.PUBLICPUBLICPUBLICPUBLIC"));
        assert_eq!(t.name.as_deref(), Some("ci"));
        assert_eq!(t.owner.as_deref(), Some("a@b.example"));
        assert_eq!(t.scopes, ["metrics.read", "WriteConfig"]);
        assert_eq!(t.expires, None);
        assert_eq!(t.last_used.as_deref(), Some("2024-05-01T10:00:00.000Z"));
        assert_eq!(t.personal, Some(false));
        assert!(v.risk.as_deref().unwrap().contains("WriteConfig"));
        assert!(v.risk.as_deref().unwrap().contains("never expires"));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["status"], "active");
        assert_eq!(json["expires"], serde_json::Value::Null);
        assert_eq!(json["environment"], "https://abc12345.live.dynatrace.com");
        assert_eq!(json["personal"], false);
    }

    #[test]
    fn summary_for_a_human_report() {
        let v = read(
            200,
            r#"{"name":"ci","owner":"a@b.example","enabled":true,"personalAccessToken":true,
                "scopes":["settings.write"],"expirationDate":null,"lastUsedDate":"2024-05-01T10:00:00.000Z"}"#,
        );
        assert_eq!(
            v.summary(),
            [
                "verification: active at https://abc12345.live.dynatrace.com",
                "token name: ci (personal access token)",
                "owner: a@b.example",
                "scopes: settings.write",
                "expires: never",
                "last used: 2024-05-01T10:00:00.000Z",
                "risk: can change the environment (settings.write); never expires",
            ]
        );
        assert_eq!(
            Verification::unknown("no environment", None).summary(),
            ["verification: unknown (no environment)"]
        );
    }

    #[test]
    fn statuses_follow_the_answer() {
        assert_eq!(read(200, r#"{"enabled":false,"scopes":[]}"#).status, Status::Disabled);
        assert_eq!(read(401, "").status, Status::Invalid);
        let forbidden =
            read(403, r#"{"error":{"code":403,"message":"Token is missing required scope."}}"#);
        assert_eq!(forbidden.status, Status::Active);
        assert!(forbidden.token.is_none());
        assert!(forbidden.reason.unwrap().contains("missing required scope"));
        let json = serde_json::to_value(read(403, "")).unwrap();
        assert!(json.get("scopes").is_none() && json.get("expires").is_none(), "unknown, not null");
        for (code, body, needle) in [
            (404, "", "404"),
            (500, "", "server error (500)"),
            (503, "", "server error (503)"),
            (429, "", "rate limited"),
            (302, "", "redirect (302) not followed"),
            (418, "", "HTTP 418"),
            (200, "{not json", "malformed"),
            (200, r#"{"name":"x"}"#, "no `enabled`"),
        ] {
            let v = read(code, body);
            assert_eq!(v.status, Status::Unknown, "{code}");
            assert!(v.reason.as_deref().unwrap().contains(needle), "{code}: {:?}", v.reason);
        }
    }

    #[test]
    fn server_text_never_carries_the_secret() {
        let secret = "SECRETSECRETSECRETSECRETSECRET";
        let v = read(200, &format!(r#"{{"enabled":true,"name":"leak {secret}","scopes":["x"]}}"#));
        assert!(!serde_json::to_string(&v).unwrap().contains(secret));
        let v = read(
            500,
            &format!(
                r#"{{"error":{{"message":"bad token dt0c01.PUBLICPUBLICPUBLICPUBLIC.{secret}"}}}}"#
            ),
        );
        assert!(!format!("{v:?}").contains(secret));
        let v = read(
            500,
            r#"{"error":{"message":"echo ZHQwYzAxLlBVQkxJQ1BVQkxJQ1BVQkxJQ1BVQkxJQy5TRUNSRVRTRUNSRVQ"}}"#,
        );
        assert_eq!(v.reason.as_deref(), Some("server error (500)"));
        assert_eq!(clean_text("a\u{1b}[31mb\u{202e}c\n", &token()), "a[31mbc");
    }

    #[test]
    fn several_environments_first_definitive_answer() {
        let other = Environment::parse("https://other.example").unwrap();
        let invalid = read(401, "");
        let active = read(200, r#"{"enabled":true,"scopes":[]}"#);
        let timeout = Verification::unknown("timeout after 5000 ms", Some(other.clone()));
        assert_eq!(combine(vec![invalid.clone(), active.clone()], 0), active);
        assert_eq!(combine(vec![invalid.clone()], 0), invalid);
        let both = combine(vec![invalid.clone(), read(401, "")], 0);
        assert_eq!(both.status, Status::Invalid);
        let mixed = combine(vec![invalid.clone(), timeout], 0);
        assert_eq!(mixed.status, Status::Unknown);
        assert!(mixed.reason.as_deref().unwrap().contains("https://other.example: timeout"));
        let bounded = combine(vec![invalid], 2);
        assert_eq!(bounded.status, Status::Unknown);
        assert!(bounded.reason.unwrap().contains("2 more environment(s) not tried"));
        assert_eq!(combine(vec![], 0).reason.as_deref(), Some("no environment"));
    }
}

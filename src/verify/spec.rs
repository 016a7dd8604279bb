//! A rule's verification check, described as data (`[rules.verify]`).
//!
//! A check is one read-only HTTP request and a named way to read its answer:
//!
//! ```toml
//! [rules.verify]
//! kind = "dynatrace-token-lookup"        # a preset: the table below, written for you
//! ```
//!
//! ```toml
//! [rules.verify]
//! kind = "http"                          # the general form
//! method = "POST"
//! path = "/api/v2/apiTokens/lookup"      # below the environment's base URL; never `{token}`
//! headers = { Authorization = "Api-Token {token}", Content-Type = "application/json" }
//! body = { token = "{token}" }           # sent as JSON; `{token}` in any string is the token
//! response = "dynatrace-api-token"       # or "status", with `active = [200]`, `invalid = [401]`
//! # url = "https://api.example.com"      # a fixed base URL, instead of the environments
//! ```
//!
//! `{token}` is the only placeholder; it may stand in header values and the body, never in the
//! path or URL (those reach error messages). Another provider's read-only check is a table of
//! this form, plus at most a new [`Interpreter`].

use serde_json::Value;

use super::environment::Environment;
use super::secret::Secret;
use super::transport::{Method, Request};

/// The one placeholder in templates.
pub const TOKEN_PLACEHOLDER: &str = "{token}";
/// The preset for Dynatrace access tokens.
pub const DYNATRACE_TOKEN_LOOKUP: &str = "dynatrace-token-lookup";

/// A check: where to send what, and how to read the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// `dynatrace-token-lookup` or `http`.
    pub kind: String,
    /// Where the request goes.
    pub target: Target,
    /// Method, path, headers and body.
    pub request: RequestTemplate,
    /// How the response is read.
    pub response: Interpreter,
}

/// Where a check's request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The token's environments: configured ones, else Dynatrace-run hosts in its context.
    Environment,
    /// One fixed base URL, given by the rule.
    Fixed(Environment),
}

/// The request of a check, with `{token}` still in place.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTemplate {
    /// HTTP method.
    pub method: Method,
    /// Path below the base URL, starting with `/`.
    pub path: String,
    /// Header names and value templates.
    pub headers: Vec<(String, String)>,
    /// JSON body template, if any.
    pub body: Option<Value>,
}

/// How a response is read into a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interpreter {
    /// Dynatrace's `ApiToken` answer of `POST /api/v2/apiTokens/lookup`.
    DynatraceApiToken,
    /// By status code alone: `active` codes mean active, `invalid` codes invalid, any other
    /// unknown.
    Status {
        /// Codes meaning the token works.
        active: Vec<u16>,
        /// Codes meaning the token does not.
        invalid: Vec<u16>,
    },
}

impl CheckSpec {
    /// The Dynatrace token lookup, as Dynatrace documents it: `POST /api/v2/apiTokens/lookup`,
    /// `Authorization: Api-Token {token}`, JSON body `{"token": "{token}"}`.
    pub fn dynatrace_token_lookup() -> CheckSpec {
        let json = "application/json; charset=utf-8".to_string();
        CheckSpec {
            kind: DYNATRACE_TOKEN_LOOKUP.into(),
            target: Target::Environment,
            request: RequestTemplate {
                method: Method::Post,
                path: "/api/v2/apiTokens/lookup".into(),
                headers: vec![
                    ("Authorization".into(), "Api-Token {token}".into()),
                    ("Accept".into(), json.clone()),
                    ("Content-Type".into(), json),
                ],
                body: Some(serde_json::json!({ "token": TOKEN_PLACEHOLDER })),
            },
            response: Interpreter::DynatraceApiToken,
        }
    }

    /// Reads a rule's `[rules.verify]` table. The message of an error names the key.
    pub fn from_table(table: &toml::Table) -> Result<CheckSpec, String> {
        let kind = match table.get("kind") {
            Some(toml::Value::String(k)) => k.as_str(),
            Some(_) => return Err("`kind` must be a string".into()),
            None => return Err("missing `kind` (e.g. \"dynatrace-token-lookup\")".into()),
        };
        match kind {
            DYNATRACE_TOKEN_LOOKUP => {
                if let Some(extra) = table.keys().find(|k| *k != "kind") {
                    return Err(format!("unknown key `{extra}` (the preset takes only `kind`)"));
                }
                Ok(CheckSpec::dynatrace_token_lookup())
            }
            "http" => http_check(table),
            other => Err(format!(
                "unknown verification kind {:?} (known: \"{DYNATRACE_TOKEN_LOOKUP}\", \"http\")",
                other.chars().take(64).collect::<String>()
            )),
        }
    }

    /// The request for one token, or `None` if the token is not text.
    pub fn render(&self, token: &Secret) -> Option<Request> {
        let text = token.expose_str()?;
        let t = &self.request;
        let headers = t
            .headers
            .iter()
            .map(|(name, value)| {
                (name.clone(), Secret::new(value.replace(TOKEN_PLACEHOLDER, text)))
            })
            .collect();
        let body = t.body.as_ref().map(|b| {
            let filled = fill(b, text);
            Secret::new(serde_json::to_vec(&filled).expect("JSON values serialise"))
        });
        Some(Request { method: t.method, path: t.path.clone(), headers, body })
    }
}

fn fill(v: &Value, token: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(TOKEN_PLACEHOLDER, token)),
        Value::Array(items) => Value::Array(items.iter().map(|i| fill(i, token)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, token))).collect())
        }
        other => other.clone(),
    }
}

const HTTP_KEYS: &[&str] =
    &["kind", "method", "url", "path", "headers", "body", "response", "active", "invalid"];

fn http_check(table: &toml::Table) -> Result<CheckSpec, String> {
    if let Some(extra) = table.keys().find(|k| !HTTP_KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key `{extra}` (known: {})", HTTP_KEYS.join(", ")));
    }
    let string = |key: &str| -> Result<Option<&str>, String> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let method = match string("method")? {
        Some(m) => Method::parse(m).ok_or("`method` is one of GET, POST, PUT, DELETE")?,
        None => Method::Get,
    };
    if matches!(method, Method::Put | Method::Delete) {
        return Err("`method`: a verification check only reads (GET or POST)".into());
    }
    let target = match string("url")? {
        Some(u) => {
            no_placeholder(u, "url")?;
            Target::Fixed(Environment::parse(u).map_err(|e| format!("`url`: {e}"))?)
        }
        None => Target::Environment,
    };
    let path = string("path")?.ok_or("missing `path` (e.g. \"/api/v2/apiTokens/lookup\")")?;
    no_placeholder(path, "path")?;
    let path_ok = path.starts_with('/')
        && path.len() <= 512
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%?=&".contains(&b));
    if !path_ok {
        return Err("`path` starts with `/` and holds only URL characters".into());
    }
    let mut headers = Vec::new();
    match table.get("headers") {
        None => {}
        Some(toml::Value::Table(h)) => {
            for (name, value) in h {
                let name_ok = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                if !name_ok {
                    return Err(format!("`headers`: invalid header name {:?}", name));
                }
                let toml::Value::String(value) = value else {
                    return Err(format!("`headers.{name}` must be a string"));
                };
                check_placeholders(value, &format!("headers.{name}"))?;
                if value.bytes().any(|b| b.is_ascii_control()) {
                    return Err(format!("`headers.{name}` holds a control character"));
                }
                headers.push((name.clone(), value.clone()));
            }
        }
        Some(_) => return Err("`headers` must be a table of strings".into()),
    }
    let body = match table.get("body") {
        None => None,
        Some(v) => {
            let json = serde_json::to_value(v).map_err(|_| "`body` cannot be written as JSON")?;
            check_json_placeholders(&json)?;
            Some(json)
        }
    };
    let codes = |key: &str| -> Result<Vec<u16>, String> {
        match table.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    toml::Value::Integer(c) if (100..=599).contains(c) => Ok(*c as u16),
                    _ => Err(format!("`{key}` is a list of HTTP status codes")),
                })
                .collect(),
            Some(_) => Err(format!("`{key}` is a list of HTTP status codes")),
        }
    };
    let (active, invalid) = (codes("active")?, codes("invalid")?);
    let response = match string("response")?.unwrap_or("status") {
        "dynatrace-api-token" => {
            if !active.is_empty() || !invalid.is_empty() {
                return Err("`active`/`invalid` go with `response = \"status\"`".into());
            }
            Interpreter::DynatraceApiToken
        }
        "status" => {
            if active.is_empty() {
                return Err("`response = \"status\"` needs `active = [...]` codes".into());
            }
            if active.iter().any(|c| invalid.contains(c)) {
                return Err("a status code is both `active` and `invalid`".into());
            }
            Interpreter::Status { active, invalid }
        }
        other => {
            return Err(format!(
                "unknown `response` {:?} (known: \"dynatrace-api-token\", \"status\")",
                other.chars().take(64).collect::<String>()
            ))
        }
    };
    let uses_token = headers.iter().any(|(_, v)| v.contains(TOKEN_PLACEHOLDER))
        || body.as_ref().is_some_and(|b| b.to_string().contains(TOKEN_PLACEHOLDER));
    if !uses_token {
        return Err("the check never sends the token: put `{token}` in a header or the body".into());
    }
    Ok(CheckSpec {
        kind: "http".into(),
        target,
        request: RequestTemplate { method, path: path.into(), headers, body },
        response,
    })
}

fn no_placeholder(text: &str, key: &str) -> Result<(), String> {
    if text.contains('{') || text.contains('}') {
        return Err(format!(
            "`{key}` takes no placeholder: the token goes in a header or the body"
        ));
    }
    Ok(())
}

/// Only `{token}` may stand in braces.
fn check_placeholders(text: &str, key: &str) -> Result<(), String> {
    let rest = text.replace(TOKEN_PLACEHOLDER, "");
    if rest.contains('{') || rest.contains('}') {
        return Err(format!("`{key}`: the only placeholder is {TOKEN_PLACEHOLDER}"));
    }
    Ok(())
}

fn check_json_placeholders(v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) => check_placeholders(s, "body"),
        Value::Array(items) => items.iter().try_for_each(check_json_placeholders),
        Value::Object(map) => map.values().try_for_each(check_json_placeholders),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse::<toml::Table>().unwrap()
    }

    #[test]
    fn preset_is_the_documented_lookup() {
        let spec = CheckSpec::from_table(&table("kind = \"dynatrace-token-lookup\"")).unwrap();
        assert_eq!(spec, CheckSpec::dynatrace_token_lookup());
        assert_eq!(spec.request.method, Method::Post);
        assert_eq!(spec.request.path, "/api/v2/apiTokens/lookup");
        let req = spec.render(&Secret::new("dt0c01.ABC.DEF\"x")).unwrap();
        let auth = req.headers.iter().find(|(n, _)| n == "Authorization").unwrap();
        assert_eq!(auth.1.expose(), b"Api-Token dt0c01.ABC.DEF\"x");
        let body: Value = serde_json::from_slice(req.body.unwrap().expose()).unwrap();
        assert_eq!(body, serde_json::json!({"token": "dt0c01.ABC.DEF\"x"}));
    }

    #[test]
    fn the_general_form_equals_the_preset_written_out() {
        let spec = CheckSpec::from_table(&table(
            r#"
            kind = "http"
            method = "POST"
            path = "/api/v2/apiTokens/lookup"
            headers = { Authorization = "Api-Token {token}", Accept = "application/json; charset=utf-8", Content-Type = "application/json; charset=utf-8" }
            body = { token = "{token}" }
            response = "dynatrace-api-token"
            "#,
        ))
        .unwrap();
        let preset = CheckSpec::dynatrace_token_lookup();
        assert_eq!(spec.target, preset.target);
        assert_eq!(spec.response, preset.response);
        assert_eq!(spec.request.body, preset.request.body);
        let mut a = spec.request.headers.clone();
        let mut b = preset.request.headers.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn another_provider_is_data() {
        let spec = CheckSpec::from_table(&table(
            r#"
            kind = "http"
            url = "https://api.example.com"
            path = "/user"
            headers = { Authorization = "Bearer {token}" }
            active = [200]
            invalid = [401, 403]
            "#,
        ))
        .unwrap();
        assert_eq!(spec.request.method, Method::Get);
        assert_eq!(
            spec.target,
            Target::Fixed(Environment::parse("https://api.example.com").unwrap())
        );
        assert_eq!(
            spec.response,
            Interpreter::Status { active: vec![200], invalid: vec![401, 403] }
        );
    }

    #[test]
    fn refuses_unsafe_or_unclear_checks() {
        for (text, needle) in [
            ("kind = 3", "string"),
            ("", "missing `kind`"),
            ("kind = \"dynatrace-token-lookup\"\npath = \"/x\"", "unknown key `path`"),
            ("kind = \"magic\"", "unknown verification kind"),
            ("kind = \"http\"\npath = \"/t/{token}\"\nactive=[200]", "no placeholder"),
            ("kind = \"http\"\nurl = \"https://{token}.example\"\npath = \"/\"", "no placeholder"),
            ("kind = \"http\"\nurl = \"http://10.1.1.1\"\npath = \"/\"", "loopback"),
            ("kind = \"http\"\nmethod = \"DELETE\"\npath = \"/\"", "only reads"),
            ("kind = \"http\"\npath = \"/\"\nheaders = { A = \"{secret}\" }\nactive=[200]", "only placeholder"),
            ("kind = \"http\"\npath = \"/\"\nheaders = { A = \"x\" }\nactive=[200]", "never sends the token"),
            ("kind = \"http\"\npath = \"/\"\nheaders = { A = \"{token}\" }", "needs `active"),
            ("kind = \"http\"\npath = \"/\"\nheaders = { A = \"{token}\" }\nactive=[200]\ninvalid=[200]", "both"),
            ("kind = \"http\"\npath = \"/\"\nheaders = { A = \"{token}\" }\nresponse=\"x\"", "unknown `response`"),
            ("kind = \"http\"\npath = \"/\"\nheaders = { A = \"{token}\" }\nactive=[200]\nretries=3", "unknown key `retries`"),
        ] {
            let err = CheckSpec::from_table(&table(text)).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}

//! A Dynatrace environment on 127.0.0.1 that follows the documented access tokens API:
//!
//! - `POST {prefix}/api/v2/apiTokens/lookup`: authenticated with `Authorization: Api-Token A`
//!   (any enabled token of the environment may look up; an unknown or disabled one gets 401),
//!   body `{"token": T}`; 200 with T's `ApiToken` object, 404 if T is unknown.
//! - `PUT {prefix}/api/v2/apiTokens/{id}` with an `ApiTokenUpdate` body (`enabled`), and
//!   `DELETE {prefix}/api/v2/apiTokens/{id}`: need `apiTokens.write` (403 otherwise); 204 on
//!   success, 400 for the authenticating token itself, 404 for an unknown id.
//!
//! Canned answers ([`Canned`]) stand in for what a test needs (403, 5xx, a slow or huge or
//! malformed answer, a redirect). Every request is recorded; any other path answers 404.
//! Each connection gets one request and `Connection: close`. [`FakeDynatrace::start_tls`]
//! serves the same over HTTPS.

#![allow(dead_code)] // shared by tests/verify.rs and tests/verify_cli.rs, each using a part

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A token the environment knows.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub name: String,
    pub owner: String,
    pub scopes: Vec<String>,
    pub enabled: bool,
    pub expires: Option<String>,
    pub personal: bool,
}

impl TokenRecord {
    pub fn new(scopes: &[&str]) -> TokenRecord {
        TokenRecord {
            name: "ci-deploy".into(),
            owner: "owner@corp.example".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            enabled: true,
            expires: None,
            personal: false,
        }
    }
}

/// A fixed answer to the lookup authenticated by one token.
#[derive(Debug, Clone)]
pub enum Canned {
    /// Status and body.
    Answer(u16, String),
    /// Wait, then answer normally.
    Slow(Duration),
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// 302 to this URL.
    Redirect(String),
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: String,
    pub content_type: String,
    pub body: String,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, TokenRecord>,
    canned: HashMap<String, Canned>,
    requests: Vec<Recorded>,
    delay: Duration,
}

/// The server. Dropping it stops the accept loop.
pub struct FakeDynatrace {
    pub addr: SocketAddr,
    scheme: &'static str,
    prefix: String,
    state: Arc<Mutex<State>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeDynatrace {
    /// An environment at `http://127.0.0.1:{port}{prefix}` (`prefix` "" or like "/e/ENV").
    pub fn start(prefix: &str) -> FakeDynatrace {
        FakeDynatrace::start_with(prefix, None)
    }

    /// The same over HTTPS, with this certificate chain and key.
    pub fn start_tls(prefix: &str, tls: Arc<rustls::ServerConfig>) -> FakeDynatrace {
        FakeDynatrace::start_with(prefix, Some(tls))
    }

    fn start_with(prefix: &str, tls: Option<Arc<rustls::ServerConfig>>) -> FakeDynatrace {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, c, st, p) = (state.clone(), connections.clone(), stop.clone(), prefix.to_string());
        let tls_for_loop = tls.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let (s, p, tls) = (s.clone(), p.clone(), tls_for_loop.clone());
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                thread::spawn(move || match tls {
                    None => serve(stream, &s, &p),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                        serve(rustls::StreamOwned::new(conn, stream), &s, &p)
                    }
                });
            }
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        FakeDynatrace { addr, scheme, prefix: prefix.into(), state, connections, stop }
    }

    /// The environment's base URL.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.addr, self.prefix)
    }

    pub fn add(&self, token: &str, record: TokenRecord) {
        self.state.lock().unwrap().tokens.insert(token.into(), record);
    }

    pub fn can(&self, token: &str, canned: Canned) {
        self.state.lock().unwrap().canned.insert(token.into(), canned);
    }

    /// A delay before every answer.
    pub fn set_delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Connections accepted, whether or not a request followed.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn enabled(&self, token: &str) -> Option<bool> {
        self.state.lock().unwrap().tokens.get(token).map(|t| t.enabled)
    }
}

impl Drop for FakeDynatrace {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn id_of(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(id, _)| id)
}

fn serve(mut stream: impl Read + Write, state: &Mutex<State>, prefix: &str) {
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) =
        (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    drop(reader);
    let body = String::from_utf8_lossy(&body).into_owned();
    let authorization = headers.get("authorization").cloned().unwrap_or_default();
    let recorded = Recorded {
        method: method.clone(),
        path: path.clone(),
        authorization: authorization.clone(),
        content_type: headers.get("content-type").cloned().unwrap_or_default(),
        body: body.clone(),
    };
    let (delay, reply) = {
        let mut st = state.lock().unwrap();
        st.requests.push(recorded);
        (st.delay, route(&mut st, prefix, &method, &path, &authorization, &body))
    };
    if !delay.is_zero() {
        thread::sleep(delay);
    }
    write_reply(stream, reply);
}

enum Reply {
    Json(u16, String),
    Empty(u16),
    Slow(Duration, Box<Reply>),
    Huge(usize),
    Redirect(String),
}

fn error(code: u16, message: &str) -> Reply {
    Reply::Json(code, serde_json::json!({"error": {"code": code, "message": message}}).to_string())
}

fn route(st: &mut State, prefix: &str, method: &str, path: &str, auth: &str, body: &str) -> Reply {
    let Some(rest) = path.strip_prefix(prefix).and_then(|p| p.strip_prefix("/api/v2/apiTokens"))
    else {
        return Reply::Empty(404);
    };
    let caller = auth.strip_prefix("Api-Token ").unwrap_or("");
    let caller_ok = st.tokens.get(caller).is_some_and(|t| t.enabled);
    match (method, rest) {
        ("POST", "/lookup") => {
            if let Some(c) = st.canned.get(caller).cloned() {
                return match c {
                    Canned::Answer(code, b) => Reply::Json(code, b),
                    Canned::Huge(n) => Reply::Huge(n),
                    Canned::Redirect(to) => Reply::Redirect(to),
                    Canned::Slow(d) => Reply::Slow(d, Box::new(lookup(st, caller_ok, body))),
                };
            }
            lookup(st, caller_ok, body)
        }
        ("PUT", id) | ("DELETE", id) if id.starts_with('/') => {
            let id = &id[1..];
            if !caller_ok {
                return error(401, "Unauthorized");
            }
            let can_write = st.tokens[caller].scopes.iter().any(|s| s == "apiTokens.write");
            if !can_write {
                return error(403, "Token is missing required scope. Use one of: apiTokens.write");
            }
            if id == id_of(caller) {
                return error(
                    400,
                    "You can't disable the token you're using for authentication of the request.",
                );
            }
            let Some(token) = st.tokens.keys().find(|t| id_of(t) == id).cloned() else {
                return Reply::Empty(404);
            };
            if method == "DELETE" {
                st.tokens.remove(&token);
            } else {
                let update: serde_json::Value = match serde_json::from_str(body) {
                    Ok(v) => v,
                    Err(_) => return error(400, "Failed. The input is invalid."),
                };
                if let Some(e) = update.get("enabled").and_then(|e| e.as_bool()) {
                    st.tokens.get_mut(&token).unwrap().enabled = e;
                }
            }
            Reply::Empty(204)
        }
        _ => Reply::Empty(404),
    }
}

fn lookup(st: &State, caller_ok: bool, body: &str) -> Reply {
    if !caller_ok {
        return error(401, "Unauthorized");
    }
    let wanted = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_string));
    let Some(wanted) = wanted else {
        return error(400, "Failed. The input is invalid.");
    };
    let Some(t) = st.tokens.get(&wanted) else {
        return Reply::Empty(404);
    };
    Reply::Json(
        200,
        serde_json::json!({
            "id": id_of(&wanted),
            "name": t.name,
            "enabled": t.enabled,
            "personalAccessToken": t.personal,
            "owner": t.owner,
            "creationDate": "2024-01-02T03:04:05.000Z",
            "expirationDate": t.expires,
            "lastUsedDate": "2024-06-01T10:00:00.000Z",
            "lastUsedIpAddress": "192.0.2.1",
            "modifiedDate": "2024-01-02T03:04:05.000Z",
            "scopes": t.scopes,
            "additionalMetadata": {},
        })
        .to_string(),
    )
}

fn write_reply(mut stream: impl Write, reply: Reply) {
    let head = |code: u16, len: usize, extra: &str| {
        format!("HTTP/1.1 {code} X\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
    };
    let _ = match reply {
        Reply::Json(code, body) => stream
            .write_all(head(code, body.len(), "Content-Type: application/json\r\n").as_bytes())
            .and_then(|_| stream.write_all(body.as_bytes())),
        Reply::Empty(code) => stream.write_all(head(code, 0, "").as_bytes()),
        Reply::Slow(d, inner) => {
            thread::sleep(d);
            return write_reply(stream, *inner);
        }
        Reply::Huge(n) => {
            let chunk = vec![b'x'; 64 * 1024];
            let mut r =
                stream.write_all(head(200, n, "Content-Type: application/json\r\n").as_bytes());
            let mut left = n;
            while r.is_ok() && left > 0 {
                let k = left.min(chunk.len());
                r = stream.write_all(&chunk[..k]);
                left -= k;
            }
            r
        }
        Reply::Redirect(to) => {
            stream.write_all(head(302, 0, &format!("Location: {to}\r\n")).as_bytes())
        }
    };
    let _ = stream.flush();
}

//! HTTPS calls for verification: rustls with certificate checks, the system's trust store (plus
//! a configured CA file), `HTTPS_PROXY`/`NO_PROXY`, no redirects, a timeout per call and a
//! bounded response. Plain `http://` reaches loopback addresses only (that is how the tests
//! run). The client is built on the first call, never before: a run without `--verify` loads
//! no certificate and opens no socket.
//!
//! Errors name what went wrong (timeout, DNS, TLS, status) and the environment, never a
//! header or a body, which carry the token.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ureq::http;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::environment::Environment;
use super::secret::Secret;

/// Default time allowed for one call, connection to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default largest response body read; a larger one is an error.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How calls are made.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Time allowed for one call (connect, send, receive the whole response).
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// PEM file of extra trusted certificates (a corporate proxy's CA), added to the system's.
    pub ca_file: Option<PathBuf>,
    /// Whether `HTTPS_PROXY`/`ALL_PROXY` (and `NO_PROXY`) are honoured.
    pub proxy_from_env: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            ca_file: None,
            proxy_from_env: true,
        }
    }
}

/// HTTP methods a check may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Method {
    /// Parses an upper-case method name.
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }

    fn as_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Delete => http::Method::DELETE,
        }
    }
}

/// One request. Header values and the body may hold a token, so they are [`Secret`]s and the
/// type has no `Debug`.
pub struct Request {
    /// Method.
    pub method: Method,
    /// Path below the environment's base URL, starting with `/`; never holds a token.
    pub path: String,
    /// Header names and values.
    pub headers: Vec<(String, Secret)>,
    /// Body, if any.
    pub body: Option<Secret>,
}

/// A response: status, the `Location` header of a redirect, and the (bounded) body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Where a redirect pointed (never followed).
    pub location: Option<String>,
    /// The body, at most the configured size.
    pub body: Vec<u8>,
}

/// Why a call gave no response. The text names no header or body content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The environment's URL is not allowed (plain HTTP to a non-loopback host).
    #[error("refused: {0}")]
    Refused(String),
    /// The client could not be set up (unreadable CA file, no trusted certificate).
    #[error("cannot set up HTTPS: {0}")]
    Setup(String),
    /// The call took longer than the timeout.
    #[error("timeout after {0} ms")]
    Timeout(u128),
    /// The host name did not resolve.
    #[error("host not found (DNS)")]
    HostNotFound,
    /// The connection failed (refused, reset, unreachable).
    #[error("connection failed: {0}")]
    Connection(String),
    /// TLS failed (certificate not trusted, handshake error).
    #[error("TLS error: {0}")]
    Tls(String),
    /// The response body was larger than allowed.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// Anything else (protocol error).
    #[error("{0}")]
    Other(String),
}

/// The HTTP client, built on first use and shared by all threads.
pub struct Transport {
    options: TransportOptions,
    agent: OnceLock<Result<ureq::Agent, TransportError>>,
}

impl Transport {
    /// A transport with these options. Cheap: nothing is loaded until the first call.
    pub fn new(options: TransportOptions) -> Transport {
        Transport { options, agent: OnceLock::new() }
    }

    /// The options in force.
    pub fn options(&self) -> &TransportOptions {
        &self.options
    }

    fn agent(&self) -> Result<&ureq::Agent, TransportError> {
        self.agent.get_or_init(|| build_agent(&self.options)).as_ref().map_err(Clone::clone)
    }

    /// Sends `request` to `env`. Redirects are returned as responses, never followed.
    pub fn send(&self, env: &Environment, request: &Request) -> Result<Response, TransportError> {
        if !env.is_https() && !env.is_loopback() {
            return Err(TransportError::Refused(format!(
                "plain HTTP is only allowed to loopback addresses, not {env}"
            )));
        }
        let agent = self.agent()?;
        let url = env.join(&request.path);
        let mut builder = http::Request::builder().method(request.method.as_http()).uri(&url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.expose());
        }
        let body: Vec<u8> = request.body.as_ref().map(|b| b.expose().to_vec()).unwrap_or_default();
        // The request's parts carry the token: build errors are reported without them.
        let req = builder
            .body(body)
            .map_err(|_| TransportError::Other("invalid request (header or URL)".into()))?;
        let mut config = agent.configure_request(req);
        if env.is_loopback() {
            // Never hand a loopback call (maybe plain HTTP) to a proxy.
            config = config.proxy(None);
        }
        let started = std::time::Instant::now();
        let https = env.is_https();
        let mut response =
            agent.run(config.build()).map_err(|e| self.map_error(e, started, https))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        let limit = self.options.max_response_bytes;
        let body = response
            .body_mut()
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
            .map_err(|e| self.map_error(e, started, https))?;
        Ok(Response { status, location, body })
    }

    fn map_error(
        &self,
        e: ureq::Error,
        started: std::time::Instant,
        https: bool,
    ) -> TransportError {
        use std::io::ErrorKind;
        match e {
            ureq::Error::Timeout(_) => {
                TransportError::Timeout(started.elapsed().as_millis().max(1))
            }
            ureq::Error::HostNotFound => TransportError::HostNotFound,
            ureq::Error::BodyExceedsLimit(_) => {
                TransportError::TooLarge(self.options.max_response_bytes)
            }
            ureq::Error::Io(io) => match io.kind() {
                ErrorKind::TimedOut | ErrorKind::WouldBlock => {
                    TransportError::Timeout(started.elapsed().as_millis().max(1))
                }
                // rustls reports a failed handshake (untrusted certificate, wrong name) as
                // invalid data, with its own error inside.
                ErrorKind::InvalidData if https => TransportError::Tls(
                    io.get_ref().map_or_else(|| "handshake failed".into(), |e| e.to_string()),
                ),
                kind => TransportError::Connection(kind_text(kind)),
            },
            ureq::Error::ConnectionFailed => TransportError::Connection("no connection".into()),
            ureq::Error::Tls(t) => TransportError::Tls(t.into()),
            ureq::Error::Rustls(r) => TransportError::Tls(r.to_string()),
            ureq::Error::Pem(_) => TransportError::Setup("unreadable certificate".into()),
            ureq::Error::Protocol(p) => TransportError::Other(format!("HTTP protocol error: {p}")),
            ureq::Error::InvalidProxyUrl => TransportError::Setup("invalid proxy URL".into()),
            _ => TransportError::Other("request failed".into()),
        }
    }
}

fn kind_text(kind: std::io::ErrorKind) -> String {
    use std::io::ErrorKind::*;
    match kind {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset".into(),
        ConnectionAborted => "connection aborted".into(),
        UnexpectedEof => "connection closed early".into(),
        NetworkUnreachable | HostUnreachable => "network unreachable".into(),
        other => format!("{other}").to_lowercase(),
    }
}

fn build_agent(options: &TransportOptions) -> Result<ureq::Agent, TransportError> {
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    let native = rustls_native_certs::load_native_certs();
    roots.extend(native.certs.into_iter().map(|c| Certificate::from_der(c.as_ref()).to_owned()));
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            TransportError::Setup(format!("cannot read CA file {}: {}", path.display(), e.kind()))
        })?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => roots.push(c),
                Ok(_) => {}
                Err(_) => {
                    return Err(TransportError::Setup(format!(
                        "CA file {} is not valid PEM",
                        path.display()
                    )))
                }
            }
        }
        if roots.len() == before {
            return Err(TransportError::Setup(format!(
                "CA file {} holds no certificate",
                path.display()
            )));
        }
    }
    // No system store at all (a bare container): Mozilla's roots, compiled in.
    let root_certs =
        if roots.is_empty() { RootCerts::WebPki } else { RootCerts::Specific(Arc::new(roots)) };
    let tls = TlsConfig::builder().root_certs(root_certs).build();
    let proxy = if options.proxy_from_env { ureq::Proxy::try_from_env() } else { None };
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .https_only(false)
        .timeout_global(Some(options.timeout))
        .user_agent(concat!("tokenguard/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(config.new_agent())
}

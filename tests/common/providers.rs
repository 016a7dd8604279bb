//! Synthetic tokens of other providers, made from random characters with their checksums
//! (and structures) right, so that they are tokens by every offline check. Formats:
//! docs/research/providers-verified.md.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use tokenguard::matcher::checksum;

use super::Rng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX_LOWER: &[u8] = b"0123456789abcdef";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("checks are ASCII")
}

/// A GitHub classic token (`prefix` one of `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) or an npm
/// token (`npm_`): 30 random alphanumerics and their base62 CRC-32.
pub fn github_classic(prefix: &str) -> String {
    let body = Rng::new().chars(ALNUM, 30);
    format!("{prefix}{body}{}", text(&checksum::github_check(body.as_bytes())))
}

/// A GitHub fine-grained personal access token (`github_pat_`, 93 characters).
pub fn github_fine_grained() -> String {
    let mut rng = Rng::new();
    let head = format!("github_pat_11{}_{}", rng.chars(ALNUM, 20), rng.chars(ALNUM, 43));
    let check = checksum::github_pat_check(head.as_bytes());
    format!("{head}{}{}", text(&check), rng.chars(ALNUM, 8))
}

/// A GitLab routable token with `prefix` (`glpat-`, `gldt-`, `SIE-glpat-`, …): 16 random
/// bytes and a routing payload, as GitLab's generator writes them.
pub fn gitlab_routable(prefix: &str) -> String {
    let mut rng = Rng::new();
    let routing = format!(
        "c:1\no:{}\nu:{}",
        rng.chars(b"0123456789abcdefghijklmnopqrstuvwxyz", 3),
        rng.chars(b"0123456789abcdefghijklmnopqrstuvwxyz", 5)
    );
    let mut payload: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
    payload.extend_from_slice(routing.as_bytes());
    payload.push(routing.len() as u8);
    let b64 = URL_SAFE_NO_PAD.encode(&payload);
    let len = checksum::gitlab_length_field(b64.len()).expect("a short payload");
    let head = format!("{prefix}{b64}.01.{}", text(&len));
    format!("{head}{}", text(&checksum::gitlab_crc(head.as_bytes())))
}

/// A Grafana service-account token (`glsa_`).
pub fn grafana_service_account() -> String {
    let key = format!("glsa_{}", Rng::new().chars(ALNUM, 32));
    format!("{key}_{}", text(&checksum::grafana_check(key.as_bytes())))
}

/// A Grafana Cloud access-policy token (`glc_` + base64 JSON with `o`, `n`, `k`, `m`).
pub fn grafana_cloud() -> String {
    let mut rng = Rng::new();
    let json = format!(
        r#"{{"o":"{}","n":"stack-{}-write","k":"{}","m":{{"r":"prod-eu-west-2"}}}}"#,
        rng.chars(b"0123456789", 7),
        rng.chars(b"0123456789", 6),
        rng.chars(ALNUM, 24)
    );
    format!("glc_{}", STANDARD.encode(json))
}

/// An Atlassian API token (`ATATT3xFfGF0…=` + CRC-32, 192 characters).
pub fn atlassian_api_token() -> String {
    let head = format!("ATATT3xFfGF0{}=", Rng::new().chars(B64URL, 171));
    format!("{head}{}", text(&checksum::atlassian_check(head.as_bytes())))
}

/// A Bitbucket app password (`ATBB` + 24 alphanumerics + CRC-32).
pub fn bitbucket_app_password() -> String {
    let head = format!("ATBB{}", Rng::new().chars(ALNUM, 24));
    format!("{head}{}", text(&checksum::atlassian_check(head.as_bytes())))
}

/// A PyPI token: `pypi-` and a v2 macaroon for pypi.org with a UUID identifier, a caveat
/// and a random signature, base64url without padding (as warehouse serializes it).
pub fn pypi() -> String {
    let mut rng = Rng::new();
    let uuid = format!(
        "{}-{}-4{}-a{}-{}",
        rng.chars(HEX_LOWER, 8),
        rng.chars(HEX_LOWER, 4),
        rng.chars(HEX_LOWER, 3),
        rng.chars(HEX_LOWER, 3),
        rng.chars(HEX_LOWER, 12)
    );
    let caveat = format!(r#"[1,["{uuid}"]]"#);
    let field = |kind: u8, data: &[u8]| {
        let mut f = vec![kind, data.len() as u8];
        f.extend_from_slice(data);
        f
    };
    let mut raw = vec![2u8];
    raw.extend(field(1, b"pypi.org"));
    raw.extend(field(2, uuid.as_bytes()));
    raw.push(0);
    raw.extend(field(2, caveat.as_bytes()));
    raw.push(0);
    raw.push(0);
    let sig: Vec<u8> = (0..32).map(|_| rng.next() as u8).collect();
    raw.extend(field(6, &sig));
    format!("pypi-{}", URL_SAFE_NO_PAD.encode(raw))
}

/// A Dynatrace agent connection token: `dt0a01.<environment id>.<64 lower-case hex>`.
pub fn dynatrace_agent() -> String {
    let mut rng = Rng::new();
    format!(
        "dt0a01.{}{}.{}",
        rng.chars(b"abcdefghijklmnopqrstuvwxyz", 3),
        rng.chars(b"0123456789", 5),
        rng.chars(HEX_LOWER, 64)
    )
}

/// A Dynatrace EdgeConnect placeholder token: `dt0e01.<24 base32>.<64 base32>`.
pub fn dynatrace_edgeconnect() -> String {
    let mut rng = Rng::new();
    format!("dt0e01.{}.{}", rng.chars(BASE32, 24), rng.chars(BASE32, 64))
}

//! The risk line of an active token: the scopes that let a holder change the environment or
//! read sensitive data, and whether it never expires. docs/verify.md lists the same scopes
//! with the same reasons (a test keeps the two in step).

use super::status::TokenInfo;

/// What a risky scope lets a holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harm {
    /// Change the environment (configuration, tokens, code that runs on hosts).
    Change,
    /// Read data that is sensitive in itself.
    Read,
}

/// Risky scopes (names as Dynatrace's access tokens API writes them), what each allows, and
/// why it matters. Scopes not listed (ingest, plain reads of metrics) are not called out.
pub const RISKY_SCOPES: &[(&str, Harm, &str)] = &[
    ("apiTokens.write", Harm::Change, "creates, changes and deletes access tokens: a holder can mint new tokens and keep access after this one is revoked"),
    ("TenantTokenManagement", Harm::Change, "token management (API v1): same power as apiTokens.write"),
    ("activeGateTokenManagement.create", Harm::Change, "creates ActiveGate tokens: a holder can connect an ActiveGate of its own"),
    ("activeGateTokenManagement.write", Harm::Change, "changes and revokes ActiveGate tokens: can cut ActiveGates off"),
    ("tenantTokenRotation.write", Harm::Change, "rotates the tenant token: can cut every OneAgent and ActiveGate off"),
    ("WriteConfig", Harm::Change, "writes the configuration (Configuration API): alerting, integrations, monitoring"),
    ("settings.write", Harm::Change, "writes settings (Settings API), including alerting, integrations and extension settings"),
    ("credentialVault.write", Harm::Change, "creates and replaces credentials that synthetic monitors and extensions use"),
    ("entities.write", Harm::Change, "creates and changes monitored entities and their tags, on which alerting and access rules depend"),
    ("DataPrivacy", Harm::Change, "changes data-privacy settings: masking and anonymisation of captured data"),
    ("UserSessionAnonymization", Harm::Change, "anonymises user session data (cannot be undone)"),
    ("CaptureRequestData", Harm::Change, "turns on capture of request data, which can include personal data and credentials"),
    ("attacks.write", Harm::Change, "changes Application Protection settings: can turn attack blocking off"),
    ("securityProblems.write", Harm::Change, "mutes security problems: can hide vulnerabilities"),
    ("PluginUpload", Harm::Change, "uploads extensions: code that runs on ActiveGates and OneAgent hosts"),
    ("extensions.write", Harm::Change, "installs and removes extensions: code that runs on ActiveGates and OneAgent hosts"),
    ("extensionConfigurations.write", Harm::Change, "configures extensions, including the endpoints and credentials they use"),
    ("hub.install", Harm::Change, "installs and updates Hub items (extensions, apps)"),
    ("oneAgents.write", Harm::Change, "changes OneAgent settings: can switch monitoring off"),
    ("activeGates.write", Harm::Change, "changes ActiveGates (updates, settings)"),
    ("networkZones.write", Harm::Change, "changes network zones: where agents send their data"),
    ("ActiveGateCertManagement", Harm::Change, "manages ActiveGate certificates"),
    ("DataExport", Harm::Read, "reads problems, events, metrics and topology: a map of the monitored estate"),
    ("LogExport", Harm::Read, "reads logs, which often hold personal data and secrets"),
    ("logs.read", Harm::Read, "reads logs, which often hold personal data and secrets"),
    ("DTAQLAccess", Harm::Read, "reads user sessions (real user monitoring data)"),
    ("credentialVault.read", Harm::Read, "reads credential vault entries"),
    ("apiTokens.read", Harm::Read, "reads the metadata of every access token (names, owners, scopes)"),
    ("securityProblems.read", Harm::Read, "reads known vulnerabilities: where the estate is weak"),
    ("attacks.read", Harm::Read, "reads detected attacks"),
    ("auditLogs.read", Harm::Read, "reads the audit log: who did what"),
    ("ReadConfig", Harm::Read, "reads the configuration, including integration endpoints"),
    ("InstallerDownload", Harm::Read, "downloads OneAgent installers, which carry the environment's tenant token"),
    ("MemoryDump", Harm::Read, "triggers and downloads process memory dumps (memory holds secrets)"),
    ("RestRequestForwarding", Harm::Read, "fetches data from connected remote environments"),
];

/// The reason a scope is risky, if it is.
pub fn scope_risk(scope: &str) -> Option<(Harm, &'static str)> {
    RISKY_SCOPES.iter().find(|(s, _, _)| *s == scope).map(|(_, h, why)| (*h, *why))
}

/// A short line for an active token: risky scopes by kind and "never expires"; for a token
/// whose metadata is unknown (403), "scopes unknown". `None` if nothing is worth saying.
pub fn risk_line(info: Option<&TokenInfo>) -> Option<String> {
    let Some(info) = info else {
        return Some("scopes and expiry unknown (the token may not read its own metadata)".into());
    };
    let pick = |harm: Harm| -> Vec<&str> {
        info.scopes
            .iter()
            .map(String::as_str)
            .filter(|s| scope_risk(s).is_some_and(|(h, _)| h == harm))
            .collect()
    };
    let mut parts = Vec::new();
    let change = pick(Harm::Change);
    if !change.is_empty() {
        parts.push(format!("can change the environment ({})", change.join(", ")));
    }
    let read = pick(Harm::Read);
    if !read.is_empty() {
        parts.push(format!("can read sensitive data ({})", read.join(", ")));
    }
    if info.expires.is_none() {
        parts.push("never expires".into());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(scopes: &[&str], expires: Option<&str>) -> TokenInfo {
        TokenInfo {
            id: None,
            name: None,
            owner: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires: expires.map(str::to_string),
            last_used: None,
            personal: None,
        }
    }

    #[test]
    fn names_risky_scopes_and_no_expiry() {
        let line = risk_line(Some(&info(
            &["metrics.ingest", "apiTokens.write", "settings.write", "LogExport"],
            None,
        )))
        .unwrap();
        assert_eq!(
            line,
            "can change the environment (apiTokens.write, settings.write); \
             can read sensitive data (LogExport); never expires"
        );
        assert_eq!(
            risk_line(Some(&info(&["metrics.ingest"], Some("2030-01-01T00:00:00.000Z")))),
            None
        );
        assert!(risk_line(None).unwrap().contains("unknown"));
    }

    #[test]
    fn docs_list_every_risky_scope() {
        let docs = include_str!("../../docs/verify.md");
        for (scope, _, why) in RISKY_SCOPES {
            let row = format!("| `{scope}` |");
            let line = docs.lines().find(|l| l.starts_with(&row));
            assert!(
                line.is_some_and(|l| l.contains(why)),
                "docs/verify.md lacks the row of {scope}"
            );
        }
    }
}

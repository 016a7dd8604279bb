//! Built-in Dynatrace rules. Every token below is synthetic (random characters) and carries the
//! `tokenguard:allow` marker so that the project's own hook lets this file through.

use super::{Detector, Rule};

/// Public examples from Dynatrace's documentation: never findings, listed by `tokenguard rules`.
pub const KNOWN_EXAMPLES: &[&str] = &[
    "dt0c01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM", // tokenguard:allow
    "dt0s01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM", // tokenguard:allow
    "dt0g02.4KWZO5EF.XT47R5DRADJIZUFOX4UDNOKTSUSABGLN7XSMJG7UXHRXKNY4WLORH4OF4T75MG7E", // tokenguard:allow
];

/// Parts of the documented examples: a token whose public part or secret part is one of these
/// is the example or an edit of it (tests and docs change its prefix or a few characters, as
/// public code does: `dt0s02.ST2EY72KQINMH574WMNVI7YN.…`, a secret ending `…573RZM`), never a
/// real token. Listed by `tokenguard rules`.
pub const KNOWN_EXAMPLE_PARTS: &[&str] = &[
    "ST2EY72KQINMH574WMNVI7YN",
    "4KWZO5EF",
    "G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM",
    "G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM573RZM",
    "XT47R5DRADJIZUFOX4UDNOKTSUSABGLN7XSMJG7UXHRXKNY4WLORH4OF4T75MG7E",
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Negatives every structured rule shares.
const STRUCTURED_NEGATIVES: &[&str] = &[
    "DT_API_TOKEN=dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "DT_API_TOKEN=dt0c01.XXXXXXXXXXXXXXXXXXXXXXXX.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "token: dt0c01.000000000000000000000000.0000000000000000000000000000000000000000000000000000000000000000",
    "Use the regex dt0[a-zA-Z]{1}[0-9]{2}\\.[A-Z0-9]{24}\\.[A-Z0-9]{64} in your scanner.",
    "echo \"token id: dt0c01.YZMP9FKY6OKBYJXITZ81CWQ9\"",
    "log: using dt0c01.ST2EY72KQINMH574WMNVI7YN.**************** for export",
    "apiToken: \"${DT_API_TOKEN}\"",
    "token: <your-token>",
    "The token looks like `dt0c01.<public-part>.<secret-part>`.",
    "apiToken: {{ .Values.apiToken | b64enc }}",
    "digest = 'C540793F53EE4067B72AE0BDD2DE831D8EA06ADD2FDB3B78601888C70715801C'",
    "id: 123e4567-e89b-12d3-a456-426614174000",
    // wrong lengths
    "dt0c01.UJZDE8GXD6NCF10EPF91DHO.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT",
    "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4ED",
    "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDTX",
    // lower-case parts
    "dt0c01.ujzde8gxd6ncf10epf91dhod.zdoc9is0j8ht9lgmxg9edn581u33xtplpft75v2seh60kvj50ce9uvw53efr4edt",
    // inside a longer run of letters and digits
    "xdt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT",
    // placeholder-shaped parts
    "dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT",
    "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
    "dt0c01.UJZDE8GXD6NCF10EPF91DHOD.EXAMPLESECRETEXAMPLESECRETEXAMPLESECRETEXAMPLESECRETEXAMPLESECRE",
    // documented examples
    "dt0c01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM", // tokenguard:allow
];

pub(super) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            id: "dynatrace-api-token".into(),
            description: "Dynatrace access token (API, PaaS, ingest or personal access token, dt0c01)".into(),
            detector: Detector::Structured { prefixes: &["dt0c01"], public_lens: &[24] },
            keywords: strings(&["dt0", "ZHQw", "R0M", "kdDB"]),
            examples: strings(&[
                "DT_API_TOKEN=dt0c01.UJZDE8GXD6NCF10EPF91DHOD.ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT", // tokenguard:allow
                "curl -H \"Authorization: Api-Token dt0c01.Y29DB8P5QA3E68F7E4QEQPNO.35YE4SCMEJVQTIA4D5RGN5S7S333H9MTF4BS3E62RYNNEFJ7QXI6RHXO55ZBKA52\"", // tokenguard:allow
                "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20dt0c01.Y29DB8P5QA3E68F7E4QEQPNO.35YE4SCMEJVQTIA4D5RGN5S7S333H9MTF4BS3E62RYNNEFJ7QXI6RHXO55ZBKA52", // tokenguard:allow
                "{\"msg\":\"token\\ndt0c01.Y29DB8P5QA3E68F7E4QEQPNO.35YE4SCMEJVQTIA4D5RGN5S7S333H9MTF4BS3E62RYNNEFJ7QXI6RHXO55ZBKA52\"}", // tokenguard:allow
                // base64, as a Kubernetes Secret holds it
                "  apiToken: ZHQwYzAxLlVKWkRFOEdYRDZOQ0YxMEVQRjkxREhPRC5aRE9DOUlTMEo4SFQ5TEdNWEc5RURONTgxVTMzWFRQTFBGVDc1VjJTRUg2MEtWSjUwQ0U5VVZXNTNFRlI0RURU", // tokenguard:allow
            ]),
            negatives: strings(STRUCTURED_NEGATIVES),
        },
        Rule {
            id: "dynatrace-scim-token".into(),
            description: "Dynatrace SCIM token (dt0s01)".into(),
            detector: Detector::Structured { prefixes: &["dt0s01"], public_lens: &[24] },
            keywords: strings(&["dt0", "ZHQw", "R0M", "kdDB"]),
            examples: strings(&[
                "scim_token: dt0s01.2SYWB3WKH5DNSIPZZ5FK2Z9R.I19R0WYOJFLJOOA5LQSAJ08XUI6D39ZZZZG4ZDMEN2KHVDGAJ8GXBENYJQWX4HH5", // tokenguard:allow
            ]),
            negatives: strings(&[
                "dt0s01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM", // tokenguard:allow
                "Tokens start with dt0c01 for API tokens and dt0s01 for account tokens.",
            ]),
        },
        Rule {
            id: "dynatrace-activegate-token".into(),
            description: "Dynatrace ActiveGate token (dt0g02)".into(),
            detector: Detector::Structured { prefixes: &["dt0g02"], public_lens: &[8] },
            keywords: strings(&["dt0", "ZHQw", "R0M", "kdDB"]),
            examples: strings(&[
                "tenantToken=dt0g02.344TFJGV.Q4K7BN7XJ8B7TFQ7XKWO886VOMPZOM75WBBR4QMW2WXFOGO4MVN4A4WFHYM4L1VF", // tokenguard:allow
            ]),
            negatives: strings(&[
                "dt0g02.4KWZO5EF.XT47R5DRADJIZUFOX4UDNOKTSUSABGLN7XSMJG7UXHRXKNY4WLORH4OF4T75MG7E", // tokenguard:allow
                "dt0g02.4KWZO5EF.****************************************************************",
            ]),
        },
        Rule {
            id: "dynatrace-oauth-client-secret".into(),
            description: "Dynatrace OAuth client secret (dt0s02, dt0s03, dt0s04, dt0s08, dt0s09)".into(),
            detector: Detector::Structured {
                prefixes: &["dt0s02", "dt0s03", "dt0s04", "dt0s08", "dt0s09"],
                public_lens: &[8],
            },
            keywords: strings(&["dt0", "ZHQw", "R0M", "kdDB"]),
            examples: strings(&[
                "DT_CLIENT_SECRET=dt0s02.Z3ZFKKIB.J3J4WJ99IBAG7I1MNBQNS6PUQ80IDW3706I8J76B2LAJLJ4H9DU7794G9DPMRCG6", // tokenguard:allow
                "client_secret: 'dt0s08.29BE2U66.MR26846P7Q9M2I0HZ2UEP1ENTHJXJQI3OGZ5KOK16ZV0MWUFXBV932BYV7S6EHOG'", // tokenguard:allow
            ]),
            negatives: strings(&["client_id: dt0s02.Z3ZFKKIB"]),
        },
        Rule {
            id: "dynatrace-platform-token".into(),
            description: "Dynatrace platform token (dt0s16)".into(),
            detector: Detector::Structured { prefixes: &["dt0s16"], public_lens: &[8] },
            keywords: strings(&["dt0", "ZHQw", "R0M", "kdDB"]),
            examples: strings(&[
                "Authorization: Bearer dt0s16.FQRCLRI1.QZJ865UFRDL1ERBFQFOEQH3AV90RIC7PHKQDLMTT7NS26LRWBQCAB69M64P2G158", // tokenguard:allow
            ]),
            negatives: strings(&["dt0s16.FQRCLRI1.QZJ865UFRDL1ERBFQFOEQH3AV90RIC7PHKQDLMTT7NS26LRWBQCAB69M64P2G15"]),
        },
        Rule {
            id: "dynatrace-token".into(),
            description: "Dynatrace token of another kind (dt0 prefix, public and secret part)".into(),
            detector: Detector::Structured { prefixes: &[], public_lens: &[24, 8] },
            keywords: strings(&["dt0", "ZHQw", "R0M", "kdDB"]),
            examples: strings(&[
                "token = \"dt0x42.Z6TNOVMIZWDIAEQ1KDFY6SPS.C3LKR2AQXV9UPCTNWLAVYF4R6MP6AFQFJZCZBTTOF7JYU5JSJC616I76BOFBCIXG\"", // tokenguard:allow
            ]),
            negatives: strings(&[
                "DT0X42.Z6TNOVMIZWDIAEQ1KDFY6SPS.C3LKR2AQXV9UPCTNWLAVYF4R6MP6AFQFJZCZBTTOF7JYU5JSJC616I76BOFBCIXG",
                "dt0x4.Z6TNOVMIZWDIAEQ1KDFY6SPS.C3LKR2AQXV9UPCTNWLAVYF4R6MP6AFQFJZCZBTTOF7JYU5JSJC616I76BOFBCIXG",
            ]),
        },
        Rule {
            id: "dynatrace-legacy-token".into(),
            description: "Dynatrace token in the older 21-character format (in an Api-Token header, parameter or Dynatrace-named key)".into(),
            detector: Detector::Legacy,
            keywords: strings(super::super::matcher::LEGACY_KEYWORDS),
            examples: strings(&[
                "curl -H \"Authorization: Api-Token ztUjAwyuh1vauWv1zh87m\" https://abc12345.live.dynatrace.com/api/v1/config", // tokenguard:allow
                "https://abc12345.live.dynatrace.com/api/v1/timeseries?Api-Token=Ta5Vsqxezy3Lex7BWr2dr", // tokenguard:allow
                "DT_API_TOKEN=gd1QsO7jprBGumXxY9B4b", // tokenguard:allow
                "  paasToken: \"Ta5Vsqxezy3Lex7BWr2dr\"", // tokenguard:allow
                "<dataIngestToken>gd1QsO7jprBGumXxY9B4b</dataIngestToken>", // tokenguard:allow
                "export DYNATRACE_API_TOKEN='ztUjAwyuh1vauWv1zh87m'", // tokenguard:allow
                "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20ztUjAwyuh1vauWv1zh87m", // tokenguard:allow
            ]),
            negatives: strings(&[
                "curl -H \"Authorization: Api-Token $DT_API_TOKEN\"",
                "DT_API_TOKEN=abcdefghijklmnopqrstu",
                "DT_API_TOKEN=ABCDEFGHIJKLMNOPQRSTU",
                "DT_API_TOKEN=xxxxxxxxxxxxxxxxxxxxx",
                "DT_API_TOKEN=<your-api-token-here>",
                "DT_API_TOKEN=YourApiTokenGoesHere1",
                "apiToken: ${DT_API_TOKEN}",
                "TOKEN = os.environ['DT_API_TOKEN']",
                "some_token=ztUjAwyuh1vauWv1zh87m",
                "DT_API_TOKEN=ztUjAwyuh1vauWv1zh87mX",
            ]),
        },
    ]
}

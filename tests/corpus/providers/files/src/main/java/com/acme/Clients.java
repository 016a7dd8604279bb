package com.acme;

public final class Clients {
    private static final String SLACK_BOT_TOKEN = "https://hooks.slack.com/services/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";
    // sample: "https://hooks.slack.com/services/TZPLHAGJC/BL62B6BRFTF/9sEJyZEXAMPLEap3Qz5hLgTx"
    private static final String DT_TENANTTOKEN_AUTH = "dt0a01.ehh77439.626682717a434dc55dedf60095e2041008825ec756d0f23c6fba3efa606de75f";
    // sample: "dt0a01.abc12345.0000000000000000000000000000000000000000000000000000000000000000"
    private static final String EDGECONNECT_SECRET_PLACEHOLDER = "dt0e01.JHXRBRCPLOOE55LBTDZX5E2K.H6JCTUX5YMNZDIEOIJVKCPKYJ6O2Q6TXZZ5OGVUAQFOCNO2753C2WKLBFHCNTVCW";
    // sample: "dt0e01.<token_name>.<token_secret>"
    private static final String TF_TOKEN_app_terraform_io = "BXUPDCnw4lOeug.atlasv1.SsLf7-474pwRzJtXFUUE0hyiNCqrBThwso00nORtQHAGKnd5grlx21XLG11UHy-N5fU";
    // sample: "${TFE_TOKEN}"
    private static final String SENDGRID_API_KEY = "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";
    // sample: "<your SendGrid API key>"
    private static final String NODE_AUTH_TOKEN = "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";
    // sample: "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"
    private Clients() {}
}

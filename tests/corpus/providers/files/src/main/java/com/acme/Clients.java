package com.acme;

public final class Clients {
    private static final String TWINE_PASSWORD = "pypi-AgEIcHlwaS5vcmcCJDNhYzdkNmE0LTM0NDItNGEwZS1iZTQ1LWZjMTljZWNiZDdiYwACLFsxLFsiM2FjN2Q2YTQtMzQ0Mi00YTBlLWJlNDUtZmMxOWNlY2JkN2JjIl1dAAAGIPKxKu_Mv_Qc5jiVXvl7rTgo40144S4VtqZfc23hwnBG";
    // sample: "pypi-AgEIcHlwaS5vcmcEslDSfIFyUGOngctLMpkZTQot3tWeG3vTp8KLoOJmsZ8DS7rrnuvthAHR2uRgRpTW0D9tMmqdUaToTQmFXcotrrbO7Z4-GbaZ0zTn9m3Y8BDUWOVdYBuCq0oeZ7m988g77xegihdEqDmkylr1VKcC5"
    private static final String DT_TENANTTOKEN_AUTH = "dt0a01.yna04185.2551820e71e7ad89b1252a5a56b0f5b163e301df07d32999b32dd0edf36d08e6";
    // sample: "dt0a01.abc12345.0000000000000000000000000000000000000000000000000000000000000000"
    private static final String TF_TOKEN_app_terraform_io = "DFAkW8hTCAkKEu.atlasv1.Mnml5PTclI3_sU1IUOTmWo1GF8V2jnX471-FQo4CgR4W-bx46V3-6LGe3ePcFInzwiD";
    // sample: "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    private static final String NPM_AUTH_TOKEN = "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";
    // sample: "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"
    private static final String GITLAB_PRIVATE_TOKEN = "glptt-72c870aef9850742cc2528a8b544f89f3da30612";
    // sample: "glpat-6S8qZGtATHSEXAMPLEdv"
    private static final String STRIPE_KEY = "sk_live_K59UEzKvcJR53Mpuob8iSQKs";
    // sample: "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"
    private Clients() {}
}

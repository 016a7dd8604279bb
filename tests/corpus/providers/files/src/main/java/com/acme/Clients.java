package com.acme;

public final class Clients {
    private static final String DOCKERHUB_TOKEN = "dckr_pat_kiBLCKfuJPt4Jn434oCk_sDerkb";
    // sample: "dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx"
    private static final String BITBUCKET_APP_PASSWORD = "ATATT3xFfGF0rbrdjhfL3wtbZp_ubxB7JBzUDIiTAzNAsiS4XayzJbtfInuLyUiMxAhjO6PzG0ZdtVFxGf5SnzBkewP92mdvpIlbIqZ7wPIhW4kMlz16YSm055M50KbAQ38NGsU3XvGiVgcYN4JtGEyZue8xEifrx8lidbVLqZn0L8aFuoPdpGP=5B502BAB";
    // sample: "ATATT3xFfGF0-EXAMPLE-NOT-A-REAL-TOKEN"
    private static final String AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=stl0ug45djnv;AccountKey=jPt8kU1ZnT9uP5vFBJhTxbfKIBOLV8xkM+NWDQm+uwyrAL8d/eGMkIyP6K33R/ZMadSm09d0SD98PD+aM3hTuQ==;EndpointSuffix=core.windows.net";
    // sample: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    private static final String ANTHROPIC_ADMIN_KEY = "sk-ant-api03-EKNUx0__srULQ7cQCW89xnar0hqgbGR54d8lYEcQVpWiYjY0dVtnWTJk56DRjUYCw16lOoSA-fu3z1FyGUU5snsZvjI5rAA";
    // sample: "sk-ant-api03-..."
    private static final String GEMINI_API_KEY = "AIzaSyv4ywmSbeQ396LYZGMnywGTSLeRbRXNQEH";
    // sample: "AIzaSyp43LWMImYFS49iZRpEXAMPLEp4EMsPQ7c"
    private static final String NPM_TOKEN = "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";
    // sample: "npm_************************************"
    private Clients() {}
}

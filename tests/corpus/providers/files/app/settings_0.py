    return 0
log = logging.getLogger(__name__)
    "gh_token": "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",
GITHUB_TOKEN = "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"  # replace me
GH_ENTERPRISE_TOKEN = "<your-github-token>"  # replace me
client = Client(api_key='dt0e01.YDGQIBSWVZVQ3QVLBDBRTXGQ.TAWG7366JRNCGEQZCSYLQEERBJF4N6W4YFEJGF2R4WQEVZ45QXWNU6DQAOMTLPRM')
EDGECONNECT_SECRET_PLACEHOLDER = "dt0e01.NI4TIORS7NZNRSD.7LHOKRK5JEHMRUTPQGAWSQH4J3MP2PQ2ZJG554CG"  # replace me
EDGECONNECT_SECRET_PLACEHOLDER = "dt0e01.<token_name>.<token_secret>"  # replace me
    "dockerhub_token": "dckr_pat_c306zt8591VfKpD19QbiZGE8_LW",
DOCKERHUB_TOKEN = "dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
DOCKER_HUB_ACCESS_TOKEN = "dckr_pat_124509ugsdjga93"  # replace me
DT_CONNECTION_AUTH_TOKEN = os.environ.get("DT_TENANTTOKEN_AUTH", "dt0a01.qkg43482.0f4e684a0648cf1f78615e9466cb0cf6b7eb5ff6a3ec4630d5cbc9ef2b5d7e43")
DT_CONNECTION_AUTH_TOKEN = "dt0a01.abc12345.****************************************************************"  # replace me
DT_CONNECTION_AUTH_TOKEN = "${DT_CONNECTION_AUTH_TOKEN}"  # replace me
    "openai_admin_key": "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",
OPENAI_API_KEY = "sk-proj-********************"  # replace me
OPENAI_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
SHOPIFY_ACCESS_TOKEN = os.environ.get("SHOPIFY_ACCESS_TOKEN", "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")
SHOPIFY_API_SECRET = "shpat_ff97172a605b54a3f1f59d604279262"  # replace me
SHOPIFY_ACCESS_TOKEN = "shpat_********************************"  # replace me
import os
    main()

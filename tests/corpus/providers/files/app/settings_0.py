    return 0
log = logging.getLogger(__name__)
client = Client(api_key='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')
GH_ENTERPRISE_TOKEN = "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"  # replace me
GH_ENTERPRISE_TOKEN = "ghp_CIvrF6C0cnrcEIybsxcxMCHFqFOIfy10fiSg"  # replace me
    "grafana_cloud_token": "glc_eyJvIjoiMTk1NjEwMyIsIm4iOiJzdGFjay0wNTI4NDU3LWhtLXdyaXRlLWx2YWVqeCIsImsiOiJXZWo5dUlsMVB1RkQyYzMwUHZLRXNsZVgiLCJtIjp7InIiOiJwcm9kLXVzLWVhc3QtMCJ9fQ==",
GRAFANA_CLOUD_TOKEN = "glsa_00000000000000000000000000000000_162149fe"  # replace me
GRAFANA_SA_TOKEN = "${GRAFANA_TOKEN}"  # replace me
client = Client(api_key='dckr_pat_uj4XmzLwDRoTAB0CjB_o8Me2-vT')
DOCKER_PASSWORD = "${{ secrets.DOCKERHUB_TOKEN }}"  # replace me
DOCKERHUB_TOKEN = "dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
    "dt_platform_token": "dt0s01.CPVZBY22JLTQP5X7WG5YDGQI.BSWVZVQ3QVLBDBRTXGQTAWG7366JRNCGEQZCSYLQEERBJF4N6W4YFEJGF2R4WQEV",
DT_API_TOKEN = "dt0c01.RNRJA7J5MRJVANIRZ7D7PQMD"  # replace me
DT_PLATFORM_TOKEN = "${DT_API_TOKEN}"  # replace me
    "openai_key": "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",
OPENAI_API_KEY = "sk-proj-B3wohxL9_vUh-pu4C0lw4blV4mM4JmA-Xn1UmygSrSP0vNXPuOOosCzUCCGhHgRrdoxHvdxCX3nDt4qd14X7p-DFT6y7kK13QtyDZWU2yb3vvA5lxEJWUQaSaUXWFlSxGdBsp9a9g_i4OIi8kiLrCeDB1VIP"  # replace me
OPENAI_API_KEY = "${OPENAI_API_KEY}"  # replace me
    "google_api_key": "AIzaSyeTP4-yjphHLQT1cBD49iQOgWjO8wA6leo",
GEMINI_API_KEY = "AIzaSyabcdefghijklmnopqrstuvwxyz1234567"  # replace me
MAPS_API_KEY = "AIza***********************************"  # replace me
if __name__ == "__main__":
    return 0

    return 0
import logging
    "github_token": "ghs_TNti86kN9E6EOBLu1edKugiE8UFIII0L3Z38",
GH_ENTERPRISE_TOKEN = "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"  # replace me
GH_TOKEN = "${{ secrets.GITHUB_TOKEN }}"  # replace me
client = Client(api_key='ATATT3xFfGF0ML1PQ_fyOhBdpbNj6RjIOpQLgWKRznbNPbzMBfORfWKsezNcXt2EwAKoVqNR3wxkqMTfUwUD5lDo1kWkOHuB9Z7TJb27_uO9kfNw_WNet6Ki_23Ydkxr05VDYYR7-UssJsKa6wz1f6wpaVsBTayyb46g_qEpR2AKfxmsYpIW5Rr=596F6E6E')
JIRA_API_TOKEN = "ATATT3xFfGF0K92mGDMWGci6Uw4UMSDzB797baqBz3H2zQ2jGNxfOcbYbqm_Er40-GRilwdfzMTYtL4BYz9BG3ZAOCW43dWbUE_DDNJy1tlCdCNQU7kcJkE8iDROx1nV90MmqZzHIDO1i57pDnFtmQFe4Uk0R5EDCFwX_tY_OgxG4FVKXUQ00_N=88F993CC"  # replace me
CONFLUENCE_TOKEN = "ATBBcCe6fczW96Vzwgvb4r8F2gZS54D591C4"  # replace me
    "docker_password": "dckr_pat_gGrVhkUdgbWIylm67FHm_CpsL0F",
DOCKER_HUB_ACCESS_TOKEN = "dckr_pat_124509ugsdjga93"  # replace me
DOCKER_HUB_ACCESS_TOKEN = "dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
client = Client(api_key='rk_live_nMB47qsNmkcZP1vcBrYSSyS9')
STRIPE_KEY = "pk_test_TF2I8LK3lEwbsNT0s0Ch92zl"  # replace me
STRIPE_API_KEY = "sk_live_9L0xk9PLACEHOLDERgxndfEk"  # replace me
client = Client(api_key='DefaultEndpointsProtocol=https;AccountName=st6c70t1w64a;AccountKey=GgKc9DJv2PUzbnjNouDqL7sFJmRUTCdWCYymkXLQcnyxvWD2wt4wnfuiw9xXiiewX6YRaH2fyxsCTXuTtIWndg==;EndpointSuffix=core.windows.net')
AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=<account-key>;EndpointSuffix=core.windows.net"  # replace me
AZURE_CLIENT_SECRET = "abc8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
PYPI_API_TOKEN = os.environ.get("PYPI_API_TOKEN", "pypi-AgEIcHlwaS5vcmcCJGY1OGFkODc2LTI0NzQtNGRhYS1iOTA3LWZkNGM2MDU2M2IzMQACLFsxLFsiZjU4YWQ4NzYtMjQ3NC00ZGFhLWI5MDctZmQ0YzYwNTYzYjMxIl1dAAAGIMKF_0MgeRGFYvXQGhU7wQrT1I22WLYqHDSccOotUN-Z")
PYPI_API_TOKEN = "pypi-AgEIcHlwaS5vcmc..."  # replace me
TWINE_PASSWORD = "pypi-AgEIcHlwaS5vcmcPdYUU1rl1ITmUQpcSUf6fWYhBkUNcCPx9b21nakRC-sLHYSJhjHZLsuN443LHR_M3v9Adot2J9rtlvI3rDs0yjbqVkj648zZwPTXEET-iAJTx_ZuVmykPf7YRMwNaurp9G4XIBUlXPvwxnUgDbvY8e"  # replace me
import os
log = logging.getLogger(__name__)

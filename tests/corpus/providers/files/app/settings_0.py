if __name__ == "__main__":
def main():
    "vault_root_token": "hvs.CAESIZ2MZFTHZ0Si5oNqFWw4F2K3RxcNHSLAcWnhOO8sfcm2SBMu0GaQXi9O_LaXVpUO5dDFrJ7zcanBpg8equzBmtN",
VAULT_TOKEN = "${VAULT_TOKEN}"  # replace me
VAULT_ROOT_TOKEN = "hvs.XXXXXXXXXXXXXXXXXXXXXXXX"  # replace me
    "github_pat": "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",
GITHUB_TOKEN = "ghp_************************************"  # replace me
GITHUB_PAT = "ghp_ceR9…"  # replace me
DT_PLATFORM_TOKEN = os.environ.get("DT_PLATFORM_TOKEN", "dt0s16.HTQDQOAL.IBQIFPDFFEVNNSDVP5INZZEQ7ZQQOV3266H4MNPPLLY426NJ2ZF45COPRB7C526X")
DYNATRACE_API_TOKEN = "${DT_API_TOKEN}"  # replace me
DYNATRACE_API_TOKEN = "dt0c01.2BJXTMO6A4M3MUF7WZJ7XZKF"  # replace me
client = Client(api_key='glpat-ZfZxDRqUAmRZ0VJZPIJhB2M6MQpvOnIKdTplCw.01.121lnpmf4')
GITLAB_TOKEN = "glpat-E2UjwXEXAMPLEWVaa8dj"  # replace me
GITLAB_TOKEN = "${GITLAB_TOKEN}"  # replace me
client = Client(api_key='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')
SENDGRID_API_KEY = "SG.ewbB4HL5VqxmnL0TWxZOv_.yNwm3MQkh_oB7oq9KykG"  # replace me
SG_API_KEY = "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
NPM_TOKEN = os.environ.get("NODE_AUTH_TOKEN", "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")
NPM_AUTH_TOKEN = "npm_NFX6dCpmIWvQ7megnY0AtQwkoKzWcEXAMPLE"  # replace me
NPM_AUTH_TOKEN = "npm_zWWpPGNuwjfXHTx7aa7Kxwm8NYjDgJ3NaYT1"  # replace me
TIMEOUT = 30
import logging

import os
def main():
client = Client(api_key='gldt-Ur2SLio4W78Pi4Dgvvgi')
GL_TOKEN = "glpat-HQ7sIaS6EXAMPLEzH8Lg"  # replace me
GITLAB_TOKEN = "$CI_JOB_TOKEN"  # replace me
client = Client(api_key='hvs.CAESIlt84sLuxoVKRFMbhfjm_ffXZpDu2MZ-xtZKJ2_lIoMBicpzfSBJAMUF3BPfhP3VkQ58VgCu52WGgFPowtU2Udl')
VAULT_ROOT_TOKEN = "hvs.XXXXXXXXXXXXXXXXXXXXXXXX"  # replace me
VAULT_ROOT_TOKEN = "${VAULT_TOKEN}"  # replace me
client = Client(api_key='xoxp-88292511006-166137842071-9805043893113-05fe52a2444e1b61044a3498c2d886a8')
SLACK_TOKEN = "https://hooks.slack.com/services/TEH9UIFQL/BFIZ9TNGHNZ/63kG8APHlImEXAMPLEPLu2Fl"  # replace me
SLACK_WEBHOOK_URL = "${SLACK_BOT_TOKEN}"  # replace me
client = Client(api_key='sk-ant-admin01-Ybqm_Er40-GRilwdfzMTYtL4BYz9BG3ZAOCW43dWbUE_DDNJy1tlCdCNQU7kcJkE8iDROx1nV90MmqZzHIDO1i57pDnFtAA')
ANTHROPIC_ADMIN_KEY = "sk-ant-api03-D7KITV9AEF6LiS-lTIM4_zo5KCChfpjpTq6TSr4GAA"  # replace me
ANTHROPIC_ADMIN_KEY = "sk-ant-api03-..."  # replace me
client = Client(api_key='sk_test_w2TeuGxtNmrrbelGv658NPrs')
STRIPE_SECRET_KEY = "sk_live_ACnZjcCGU9PLACEHOLDER47W"  # replace me
STRIPE_KEY = "pk_test_TYooMQauvdEDq54NiTphI7jx"  # replace me
client = Client(api_key='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')
NODE_AUTH_TOKEN = "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"  # replace me
NPM_TOKEN = "npm_M6wWB4FVnCrcM44eJiHNz9uYBEHiMo3hdqnu"  # replace me
    return 0
if __name__ == "__main__":

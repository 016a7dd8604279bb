if __name__ == "__main__":
if __name__ == "__main__":
client = Client(api_key='sk_test_Bgi8JaM6LR0R6i4bsvCtg7xR')
STRIPE_KEY = "sk_live_************************"  # replace me
STRIPE_API_KEY = "sk_test_BQokikJOvBiI2HlWgH4olfQ2"  # replace me
SHOPIFY_API_SECRET = os.environ.get("SHOPIFY_ACCESS_TOKEN", "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")
SHOPIFY_ACCESS_TOKEN = "shpat_be525660ff5c7e3c22d1a4594e05582"  # replace me
SHOPIFY_API_SECRET = "shpat_00000000000000000000000000000000"  # replace me
    "gh_token": "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",
GH_ENTERPRISE_TOKEN = "github_pat_xxxxxxxxxxxxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
GITHUB_PAT = "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"  # replace me
client = Client(api_key='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')
NPM_AUTH_TOKEN = "{{ secrets.NPM_TOKEN }}"  # replace me
NPM_AUTH_TOKEN = "npm_N29Tx1lnWpQWPdzICFCXVelPWKUvu14bQw9v"  # replace me
ATLASSIAN_API_TOKEN = os.environ.get("CONFLUENCE_TOKEN", "ATBB9YwY48yIRskPxwDRtpwiX4mqF8091DEB")
ATLASSIAN_API_TOKEN = "ATATT3xFfGF0lkd5iy94Z-5-Dm8Rck45d2gEZulQCyd_JHukWD3tdpWbBcoeG5t_zH-LgZXOQ4vGziq3tJ60hmb9OcUUMMBJt8Gs1UoSfc13tpljS-_x54azI4GNhnIcU7yPgQ1kOWtTAlt84sLsxoVKRFMbhfjm_ffXZpDu2MZ-xtZKJ2_lIoM=4AFA092B"  # replace me
JIRA_API_TOKEN = "ATBBAROsit3UZPJA6gEx8AGKj5C81D5A0008"  # replace me
client = Client(api_key='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')
OPENAI_ADMIN_KEY = "sk-proj-pVDWPn8XqaGD7UsNXp1hhooHC8HV8plyjt6HUfS4Cz0VxBmsGAUq3coBFtf9KbNJdV9F3LW4J_SZuXe71NnXMVjKgQRNxiZMp-fxd_v1ZrL4FrTPihpWfFOhDnV-dUJz50W4sr35-ZlvgvXfWF7iTWpE7vcZ"  # replace me
OPENAI_ADMIN_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
    return 0
    main()

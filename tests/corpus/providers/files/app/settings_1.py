    return 0
    return 0
    "anthropic_api_key": "sk-ant-api03-WkPnu9GKRSI5EbgUSm-Ouuo3XroCpcQwo5uQ1WP6BNxXHEvaylFVOX0COFi3yCmgquTpDy4nMbwz9XsYdzI9BXpLxqYuzAA",
ANTHROPIC_API_KEY = "sk-ant-api03-..."  # replace me
ANTHROPIC_ADMIN_KEY = "sk-ant-api03-MXAql0LG1LuaHvXzSIsOcBKV8HvwGb7iljMrX8o6AA"  # replace me
OPENAI_ADMIN_KEY = os.environ.get("OPENAI_KEY", "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")
OPENAI_ADMIN_KEY = "${OPENAI_API_KEY}"  # replace me
OPENAI_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
DYNATRACE_API_TOKEN = os.environ.get("DT_PLATFORM_TOKEN", "dt0s16.JE2RVVL7.U44S4WE3KIVN2U4X7AFFZUYJDV5ZLCCQF6MVPDN6TVEFQ2M332BJ3A4TZIB5SASK")
DT_PLATFORM_TOKEN = "dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # replace me
DT_PLATFORM_TOKEN = "dt0c01.6HQED4RRLCYJOWQFSVMSPQVV.****************************************************************"  # replace me
GITLAB_PRIVATE_TOKEN = os.environ.get("CI_DEPLOY_PASSWORD", "acme-glpat-IfWVoCSy31tn80CWUZTnD2M6MQpvOnUKdTprCw.01.121p1w5ht")
GL_TOKEN = "glrtr-W5m1cHR6skC98Bx7XkuYjmM6MQpnOjgKbzpyegp0OjIQ.01.181uebm4k"  # replace me
CI_DEPLOY_PASSWORD = "glpat-ME75MneNG1EXAMPLE1cj"  # replace me
    "sendgrid_api_key": "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",
SG_API_KEY = "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace me
SENDGRID_API_KEY = "SG.WXCht-SQzdbulm6skOIc-U.SZH-IIid9MZA5EtNeC7Z"  # replace me
client = Client(api_key='AIzaSyTiYRmG-HA0sNhTf6pQqtW024AsxEuARRT')
GOOGLE_API_KEY = "AIza***********************************"  # replace me
MAPS_API_KEY = "AIzaSyB2PkmSEXAMPLE9ZQw9I6P4MVonIgz4AYO"  # replace me
    main()
    main()

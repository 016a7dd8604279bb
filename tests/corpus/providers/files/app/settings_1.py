if __name__ == "__main__":
    main()
    "gl_token": "glpat-XXw408aT1yL47FcfiD_E",
GITLAB_PRIVATE_TOKEN = "glpat-9UicEXAMPLEorZnj9uCn"  # replace me
CI_DEPLOY_PASSWORD = "glpat-XXXXXXXXXXX-XXXXXXXX"  # replace me
DYNATRACE_API_TOKEN = os.environ.get("DT_API_TOKEN", "dt0s16.UWBAPELR.YH757QG6ONUXE6WR4DVGNZUMTRHD4OWM6OZZDA6NYRXHD43VW4J4ZEOPKW5HG7XR")
DT_PLATFORM_TOKEN = "dt0c01.5IIUSZQSLDTEUXWV22532BHC.****************************************************************"  # replace me
DT_PLATFORM_TOKEN = "dt0c01.3BS6LZT6SK3UAWFRO6HNIT7.QNP6TLW2TVYC26JEIREXE2BPWWIHLNXPTWX5A4DGL6PYNA4DF4KVYTTF2JLYMHX7"  # replace me
    "shopify_admin_token": "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",
SHOPIFY_API_SECRET = "shpat_00000000000000000000000000000000"  # replace me
SHOPIFY_API_SECRET = "shpat_0123456789abcdef0123456789abcdef"  # replace me
TWINE_PASSWORD = os.environ.get("PYPI_TOKEN", "pypi-AgEIcHlwaS5vcmcCJGY1YjY3YzJmLTA1YTItNGE2Yi05NTQwLTU2OWY2ZmU5YWZjNwACLFsxLFsiZjViNjdjMmYtMDVhMi00YTZiLTk1NDAtNTY5ZjZmZTlhZmM3Il1dAAAGIH9OJpfXu4cGOJ0KzW0Qn6WeTde_6KayFZ-a9Mwr3s56")
PYPI_TOKEN = "pypi-AgEIcHlwaS5vcmc5hbKkoCjJIo-SHr7D41_okkqCkVNTIfu76zKyJxsgDGRv9OaYWKEciescRMaMNY5Yy2gTm9mKdRyVKD5FgVE_c7eZEJ5nIxc-0dl4kCtuF1XW4TNt8wd3aP0GBiLRVzaqlizXMQReE5XhXxauu0a8D"  # replace me
PYPI_TOKEN = "pypi-AgEIcHlwaS5vcmcCJDEyYThhOTJhLTBiNWYtNGZhNC05ZDc0LWNmYTI4Njk3MGQ0ZgACLFsxLFsiMTJhOGE5MmEtMGI1Zi00ZmE0LTlkNzQtY2ZhMjg2OTcwZDRmIl1dAAAGH8ORTWInYYfjxFD7f3lEumv6cBfA5yDZTmm6fpBhVrw"  # replace me
    "grafana_cloud_token": "glsa_FzgJxjBhYNOcCEItg3rrEb6M0LrZGLtA_908fe36a",
GRAFANA_CLOUD_TOKEN = "glc_Y8nJIvsUkpZ10c6bDamQCulM9KSheBVyfsTw2oZX"  # replace me
GRAFANA_TOKEN = "${GRAFANA_TOKEN}"  # replace me
    "azure_storage_connection_string": "DefaultEndpointsProtocol=https;AccountName=sts7kvtfqzl3;AccountKey=HZkulFJ3FBebvSkiPVUBvA28HwYT3qfssZRcjBjj9cWUQhUFjXGKVaYmrlTrc70bwce2vO9iBZATFiQ/kgbVmQ==;EndpointSuffix=core.windows.net",
AZURE_STORAGE_CONNECTION_STRING = "UseDevelopmentStorage=true"  # replace me
AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net"  # replace me
    main()
import logging

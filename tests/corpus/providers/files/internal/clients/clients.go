package clients

import "os"

const (
	defaultDynatraceEdgeconnect = "dt0e01.YEILHJTBGRZTLJOZTMHAJGBJ.OF4OFWWWD3MPDS6RGVVMQH6BRZACZRZZAULUVCA6RIIIEC6I6QJMD627TJ5UH2OH"
	// EDGECONNECT_SECRET_PLACEHOLDER = "dt0e01.<token_name>.<token_secret>"
	defaultGrafana = "glc_eyJvIjoiMTcyOTI3MiIsIm4iOiJzdGFjay03MTQzNzU5LWhtLXdyaXRlLWJidW5vdyIsImsiOiIyNzRlY04wVkZmYUEyT2NLY0ZlWllMUXQiLCJtIjp7InIiOiJwcm9kLXVzLWVhc3QtMCJ9fQ=="
	// GRAFANA_CLOUD_TOKEN = "glsa_iNValIdinValiDinvalidinvalidinva_5b582697"
	defaultAzure = "GkU7Q~X2iXdGyRDlKo2HcAEP_.voVdva4PCm.JUJ"
	// AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net"
	defaultOpenai = "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"
	// OPENAI_ADMIN_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	defaultGoogle = "AIzaSymmJYJjrSgmc1r8lYds9nMO6xLt2F_HZFC"
	// MAPS_API_KEY = "<YOUR_API_KEY>"
	defaultGithub = "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"
	// GITHUB_TOKEN = "${GITHUB_TOKEN}"
)

func token() string { return os.Getenv("TOKEN") }

terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region     = "eu-central-1"
  access_key = "AKIAW4SBWPDDAUSXEQGL"
  secret_key = "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"
}

variable "sendgrid_api_key" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
variable "dt_connection_auth_token" {
  type      = string
  sensitive = true
  default   = "dt0a01.tio01901.b7589b89c604464a2a9485e770cef831d7a1331bf53ee4302fef23ff7bf67770"
}
# default = "dt0a01.abc12345.0000000000000000000000000000000000000000000000000000000000000000"
variable "jira_api_token" {
  type      = string
  sensitive = true
  default   = "ATATT3xFfGF0R5MZBhWvDbXFf7cVCAOklu3D--XfMaRbUpTw9eg378KV2RMqDmkJz1c_4DkKz6QohXIo5oFNd_frKqY69SMqlYA5OCL5QoqH7OMcetV8eEd_MNftMSx9vak7CBlXx4USW3PTpcnZOVvgViEW17p2R0bCTeFYUeZLpX4fD4BO6YM=1414D898"
}
# default = "ATBBQrVXqLKxRPkxBPkbBB7sSOAL63361F3A"
variable "grafana_cloud_token" {
  type      = string
  sensitive = true
  default   = "glsa_a6ZfWuVl6KcjtkhhwGijtjSFkOGD6tMx_4a399533"
}
# default = "${GRAFANA_TOKEN}"
variable "shopify_api_secret" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "shpat_0e0643e3c8deae2cecb5345fb0af9ca"
resource "kubernetes_secret" "tls" {
  data = {
    "tls.key" = <<EOT
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDFK6vhqRle9YrMMKZ6G64J2fuBq7sIwNu9CUmuIB+MxoAoGCCqGSM49
AwEHoUQDQgAEZSjr+CLVKM1BjxR07el6eHtFDj8f7b6eAhfqfefLEpvZO3REr9ol
ZwRGw1xm+2qEab7K8aUMzZOpGrfLkzoayQ==
-----END EC PRIVATE KEY-----
EOT
  }
}

terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region     = "eu-central-1"
  access_key = "ASIAK4GWAEGCCSHA5EGZ"
  secret_key = "raqamkkSDoNPIoFpe3zTlgN79V9UrQa0uwLIwUWc"
}

variable "edgeconnect_secret_placeholder" {
  type      = string
  sensitive = true
  default   = "dt0e01.Q7FPMXSG4BCO2EIDJTI3V562.ZGEHLNLZCP22VTXBAIR6XAEXVVFGEN5IHI5FPXBPSBHF75WRNGIADQQOED5O3KR2"
}
# default = "dt0e01.6RAJAJHBDA5NVFZ.V3SUSMNL6HLCTAMTULVCWXB7ZNSIA6RM6FTVXNBQ"
variable "ci_deploy_password" {
  type      = string
  sensitive = true
  default   = "gldt-5oqzUt6R9gQk3KM5UZKG"
}
# default = "glpat-7xZ_auvXc45B"
variable "firebase_api_key" {
  type      = string
  sensitive = true
  default   = "AIzaSyjfo_Dqve8Up4Gffa07EDeOMB3F7oCHgRZ"
}
# default = "AIzaSyabcdefghijklmnopqrstuvwxyz1234567"
variable "npm_token" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "${NPM_TOKEN}"
variable "azure_client_secret" {
  type      = string
  sensitive = true
  default   = "eO58Q~YYuhR6Z6RwrGHOcL70VjRpNUPM9cjh3dg1"
}
# default = "<your-client-secret>"
resource "kubernetes_secret" "tls" {
  data = {
    "tls.key" = <<EOT
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICvIBjqmYIDq1c7YIusXJrCLjYoTRZA5HE13A9Y0CNVSoAoGCCqGSM49
AwEHoUQDQgAEVnP5M2QGmlDuR9VgGJh0oYEioJvMWSGhAMsGcThIGIJAoLnlAGWu
LdNJUfcFZ858PBwVKSRtdHOnGzEwzNs6cQ==
-----END EC PRIVATE KEY-----
EOT
  }
}

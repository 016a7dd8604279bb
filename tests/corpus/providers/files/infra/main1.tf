terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region     = "eu-central-1"
  access_key = "AKIA3HML27PET3GEORT3"
  secret_key = "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"
}

variable "claude_api_key" {
  type      = string
  sensitive = true
  default   = "sk-ant-admin01-hL2ce1Hm7WwyiVQUnEFbDHAsPtb-9bLzK1BR_2h_dN9-_r4ewJLlVXkH5ey0FRtcjTM4SDGuq73iUqFG6ihzC7CYSN7OyAA"
}
# default = "sk-ant-api03-..."
variable "shopify_api_secret" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "shpat_c92ce5e56c0c380d8b4b8ebca6be941"
variable "edgeconnect_secret_placeholder" {
  type      = string
  sensitive = true
  default   = "dt0e01.NF3SSGABSE57VPLCDLTHYOME.2NPNLIPIRAOAYCNMLVSVVGVU2KRTQH3NM3Y32R6YC6FUMOZKHAJ7TM54WWVTAEV7"
}
# default = "dt0e01.<token_name>.<token_secret>"
variable "dt_connection_auth_token" {
  type      = string
  sensitive = true
  default   = "dt0a01.yfr68187.a65acb8bece3989923fb3c6d27ff6e1092a58823e7f2aefd89873e9ebc691120"
}
# default = "dt0a01.abc12345.0000000000000000000000000000000000000000000000000000000000000000"
variable "stripe_key" {
  type      = string
  sensitive = true
  default   = "sk_live_Oe2Bh4Yu02g16G7pYC4xIsz0"
}
# default = "sk_live_************************"
resource "kubernetes_secret" "tls" {
  data = {
    "tls.key" = <<EOT
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIE5tQ1u8TEa2SCw/RBUfwoTLIaioP2CoVNtRACXJnroPoAoGCCqGSM49
AwEHoUQDQgAEYi2oXuDNSgTaQXrnMR1vJd9qGrWRG3TTrLn7xvfzcD5/H1wAvNcb
UlflNLEBJjQXEZc+BOwgMsuua6hrmZGRSw==
-----END EC PRIVATE KEY-----
EOT
  }
}

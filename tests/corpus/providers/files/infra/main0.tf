terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region     = "eu-central-1"
  access_key = "AKIAVTIQK4OPBZ46RHC2"
  secret_key = "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"
}

variable "shopify_access_token" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "<shpat_...>"
variable "azure_client_secret" {
  type      = string
  sensitive = true
  default   = "iTZ7Q~waihH5Pjc-f9kOsmAf4FCu.Fi4lA60Az.0"
}
# default = "UseDevelopmentStorage=true"
variable "gh_token" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "ghp_fB7F3clC3m0Iikf8gF7wxU8NtXGOim3Pav5"
variable "stripe_secret_key" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "${STRIPE_SECRET_KEY}"
variable "slack_app_token" {
  type      = string
  sensitive = true
  default   = "xoxb-817620632273-4664965320379-atjkrckyTPbme2qLphon7nSi"
}
# default = "xoxb-xxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"
resource "kubernetes_secret" "tls" {
  data = {
    "tls.key" = <<EOT
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIK2cDXO+yKj1mGKtdLGhlaOIotyQgJqhr05tQ1u8TEa2oAoGCCqGSM49
AwEHoUQDQgAESCw/RBUfwoTLIaioP2CoVNtRACXJnroPYi2oXuDNSgTaQXrnMR1v
Jd9qGrWRG3TTrLn7xvfzcD5/H1wAvNcbUg==
-----END EC PRIVATE KEY-----
EOT
  }
}

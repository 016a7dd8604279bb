terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region     = "eu-central-1"
  access_key = "AKIAQE2PHPHGGKUEJ25D"
  secret_key = "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"
}

variable "tf_token_app_terraform_io" {
  type      = string
  sensitive = true
  default   = "BmUrPUFWcgaHX1.atlasv1.qVic5dh0K19jGSLBc7WoCI5cWz3Q95HgYzkr7qxMSORDTbo86g94g-FNcvSVO27Dscq"
}
# default = "${TFE_TOKEN}"
variable "dt_api_token" {
  type      = string
  sensitive = true
  default   = "dt0c01.X2YTH4UWYN5MKTHTX7NLK4LR.Y4YS23MPQYDRQROBYK2GGEONRXJSCA42QHGMIWGGVQJOYEGH7LEM6V6QOAYT7S4R"
}
# default = "dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
variable "sendgrid_api_key" {
  type      = string
  sensitive = true
  default   = "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"
}
# default = "SG.kW8vi45dAfV418SG6n1bUW.m9y43g9zPZzayQF_LYnX"
variable "anthropic_api_key" {
  type      = string
  sensitive = true
  default   = "sk-ant-api03-koSQ5xME9Fu7noQ2xUPEoSMvLwOlxtaT3_n2oIh8-ft4lCsfGHBolvJgNX1L_0fQ5xgj28r6GCGaRki9lrULLJsM_K9ixAA"
}
# default = "sk-ant-api03-5QoqH7OMcetV8eEd_MNftMSx9vak7CBlXx4USW3PAA"
variable "azure_storage_connection_string" {
  type      = string
  sensitive = true
  default   = "qrt7Q~mOWjRY6wmnyZwaihH5Pjc-f9kOsmAf4FCu"
}
# default = "abc8Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ12345"
resource "kubernetes_secret" "tls" {
  data = {
    "tls.key" = <<EOT
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIOKUAuvTAs7TYFKTrIQZS4oWvVIA4KWx4uUAomo9t4LWoAoGCCqGSM49
AwEHoUQDQgAExkHspcx+lkUd3hxbgDbnihXEoF/nrRh26xjThipC6vaxeuln2Qf7
EL087fkLqoZ+B8vq9IP8Bu2/ooGuOJb4rg==
-----END EC PRIVATE KEY-----
EOT
  }
}

terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region     = "eu-central-1"
  access_key = "ASIAYKO3JLHGWLBNVMGI"
  secret_key = "TLuYRIC7Zd5MVITngMPI0yqBgcU7nMvKdsIZ2+eb"
}

variable "stripe_secret_key" {
  type      = string
  sensitive = true
  default   = "sk_test_512RXwEN2C44SqZLLQH2RsZ0IiIxLW6NwhlyB2on0RAlwN75S1k4TGifXyWcb0SwG3ofH344eCciZ0fZmW8BFn5x7z0FlqezP7x"
}
# default = "sk_live_PLACEHOLDERPUctDdnGnZO4n"
variable "anthropic_admin_key" {
  type      = string
  sensitive = true
  default   = "sk-ant-admin01-ITV1r_-sjFX_-IaFaq-k-fPhqf_h7DltdaRooyLq9LfYhBCq0kNMOxdaoXMoMTFe19-rQj_kvR1xe_F2K5lBlxrz1Mr9kAA"
}
# default = "${ANTHROPIC_API_KEY}"
variable "pypi_api_token" {
  type      = string
  sensitive = true
  default   = "pypi-AgEIcHlwaS5vcmcCJGVkMjVlOGZlLWUwYTctNDVjNC1iNDcyLTUzNGZlYzkwZGE4OQACLFsxLFsiZWQyNWU4ZmUtZTBhNy00NWM0LWI0NzItNTM0ZmVjOTBkYTg5Il1dAAAGIOoIjIVZ2gGGCsMknkqxspkMGs09pnWEEs1M3afgqU4Y"
}
# default = "pypi-AgEIcHlwaS5vcmc5p0hrTB5DTv09wpAmsie4LvV8iQ54C4CE9zLohuDGl5XhGeTW99sWnQ6RV0mIFzyF0M4Ns72Dnry9V-X21r4D2efx85K5pbDCb3-q5sImYksrjjenZzXG4i_Z3fFH2YsE4YAZGK_1_UgCazZhxi9NF"
variable "atlas_token" {
  type      = string
  sensitive = true
  default   = "sXjPycQdDwXKLy.atlasv1.RTorGg-5-MimYmYbmf3cDz_PMKC1WpRvEeiwmLl6AWgEzLVutuLht01NcCHmmPhdATx"
}
# default = "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
variable "vault_root_token" {
  type      = string
  sensitive = true
  default   = "hvs.CAESI10qVI84gK2pKghMlOD_sR27qpfDfrol6diw39jOl8x9ow7VFFoW6ZcoSOwocbNSmaqhev62nnWye83dC4m6b8J"
}
# default = "hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ"
resource "kubernetes_secret" "tls" {
  data = {
    "tls.key" = <<EOT
-----BEGIN RSA PRIVATE KEY-----
MIIEnwIBAAKCAQBBAXnUS20M2ZZkXJyvLac+4JWXQfwjXTb9dR20/FUJ4wL8iNpM
4e5AWFTTGcx2ldd7II2Osy2s6ojYuDMU0disNeXJuF9d+f8KXg9kcBMz65/tkj+D
cAPhvumcEYiN63nv0Qch/BsWgrNTGLOJOKgG+a+VvQ6WMs1U75vtqjgYaUPykwyz
zXdds/b6PFg1/6O3LMAEaNTo+tugFdt2/n+cu9CPALROmbnCMT/Z4rDv3K2DtRCm
BIEyOSO5dz1+zwX7z6BBXeLujGJ3ocBoNlv4Ft4cVkWWdz5t0SN7sLF8keIMqnwv
udbXkaS73JF6SVKp99kSus75/QWbw8OhpAKxAgMBAAECggEAftywVDSOGi9/Mhez
ynir63naAAl5fVRNfo+vGz9vY5K5LeTJ1Re6yOJeiBT5CjRn6sk2dpKpjxHxbQMM
9ZB6P546SRrV3ttozRx54ee8UljEZiUR8vxCMqHkLpzYxg737JJEHrzEaGB9LDWG
suTh8Xdf9p1YjDMEEnIGCmhZARE/b6Ih3DmEJNZ7PH05NDRWoSFJ1O0eDKlWwQgW
8xdDX439zBgMTaap0hY5QBloSZ/pVAVRnvg+Yk/gAuRxHbCjpAujfKAqseXROLyr
V4hz53eH0yjW940bSy0HcexZoQkg5HFaz99A9uYeg2HOkqzsq8QxSztHDU5sovLp
gfThgAKBgH4XNnG8S1Y72uwMsnKonfm+ja+mjdPdmNrYfrtSiDKf5DqqvrSEygRt
nUeN32V+hNDVpynaY4xoRiTNzC7fF+yoxuVWgM5WA3fZX8ubNhGafscmlW5gKxE+
4fppKXgcAIIi4XPDWPeYutbGnj/horXDbO9nU588n779bl5X516MAoGAcODEk9XZ
YX6BxByIhYpzDsJS1zcwJXBti71MkBME49CHPzRhQLM3Nq6ESXHAIjY6+FglYfas
8YVxAMKd/JfgioEy+Al14atHQeFzqXByix0PN3JmAu0Poe4HbxOgdIuOB9Qe6MOK
nygBncbYjJu5+09IkheGrXgDd+G5OzhBhh4CgYB+2olfidnTmYAcGs2WFlU7GX64
NP24SZB3ZpuV/bQHzwUEH0A6O4cvi3aLdijK3oiwEbKyRNy1Wzw5zLdu/oZCnybU
9iaIFI/jER0KxGdKYKUbRKcFxaylIPXhdBBN7k5ALF5z5MKET3NyH1/m64MIW4Wy
r31eD1kkrUDOueo3egKBgHxBh8tUepVU7YFlTpaA8u5otyfpw3np7AmkXSUZ+utA
3sVh0So144cY6ObzA5aL2t9oFPPf7KL6h/+nsuYyhaY60a9Ucd7U0RT1+kVUAr9E
6T0IfuNuN6jYqPT5fIMw81v8yHEnXT4DKWJMS4ptR4o3Z1tbr8VMa4NMaKc8zs0c
AoGATGOSYZ4eIUEhg4Rb/NO9LOByyNPIO57gnwKathABlETnW2MQgduv4WLE+VmR
WPO9i+PkdgJ9V+HU80gY6JzUblNYm/bI4N+A9c08Zc5oykMW/C5jnF3MkaJKQubH
MxD2FLvunKBC2MRRPhCjSzC9LMI4lse1ak3e/5/ZoyKH8Pk=
-----END RSA PRIVATE KEY-----
EOT
  }
}

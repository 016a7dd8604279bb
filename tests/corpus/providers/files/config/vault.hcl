vault {
  address = "https://vault.internal:8200"
  token   = "hvb.AAAAAQmPR9LsMOJALlgPaiDhZ5W4i0eo6lFGEXUDVbz3Ff2_dSswBYXYFMrRJ5EuXdG8gtZ8aQOrgGjROx7fY1uRk8QSExTy1BxNh3tivAuOXl3MGFKasaCDPkyctf8oFHZf8oTiWZVyhrw7VnKOlWK4257l"
}

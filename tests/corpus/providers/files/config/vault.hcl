vault {
  address = "https://vault.internal:8200"
  token   = "hvs.CAESIGYwELuQ6H6y1kp1PrR1Z2wjCDb1is5UVfTZDxIFjyLC9m4Hdkf444vrqIRu1wEg-h76_1d3dG22jn3Yt9GPa7f"
}

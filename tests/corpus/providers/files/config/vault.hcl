vault {
  address = "https://vault.internal:8200"
  token   = "hvs.CAESIL7jThOMOCyY6YG6PKhx39aFrnu0IcJV1hq5IFs1BV5jiybuga5saQ4bPKU2lWf9nAo3jqcNBDtOjkcl-e8PkrN"
}

// settings for the staging environment
export const VAULT_ROOT_TOKEN = `hvs.CAESIonwr1iXn-wNdbRaIBTmDWHk0JqjtWAlno0vIgRKNCUJWv5byWxO3X9gwXIzffCD9J55ttaLY8FLfwF0hsBG0PQ`;
export const VAULT_TOKEN = `hvs.CAESIIychaT299nYhSdZUeWvAr4lsTIMUIuN5E13q7k2SrVGpJmV2nTKl0zdfBk6j9vTI1lNwhSROJ2zM6AvXp_zOHY`;
export const VAULT_TOKEN = `hvs.CAESIEVFHhJ2N9GoWozamxf_sQ-NZQ-hMXmGzxadJqmXOOJRRDHwjezy-o9o4Ivm49kQR3_mSjK9oIYs9JlCmJegWuD`;
export const VAULT_ROOT_TOKEN_SAMPLE = `hvs.XXXXXXXXXXXXXXXXXXXXXXXX`;
export const VAULT_TOKEN_SAMPLE = `hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ`;
export const VAULT_TOKEN_SAMPLE = `${VAULT_TOKEN}`;

// do not commit real values here
export const TF_TOKEN_app_terraform_io = `SjiojQEnbXQLHM.atlasv1.7728dycnidqAKYbDZXeoTkIRTZO_a9l05W0c8aBYPeWdZBZ_iPHJnswElKbmZu7gcnk`;
export const ATLAS_TOKEN = `dMs5R3Tz7yRyAy.atlasv1.scT8-uPfDLT4epugl9VWS6I7eQINlNJZyqqUtLNiTUkt3XytskgkhKMP6VyHrB5onwr`;
export const ATLAS_TOKEN = `y1huaRLTyf0YGz.atlasv1.dbRaIBTmDWHk0JqjtWAlno0vIgRKNCUJWv5byWxO3X9gwXIzffCD9J55ttaLY8FLfwF`;
export const ATLAS_TOKEN_SAMPLE = `xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`;
export const ATLAS_TOKEN_SAMPLE = `${TFE_TOKEN}`;

#!/usr/bin/env bash
echo "deploying $SERVICE"
if [ -z "$REGION" ]; then REGION=eu-west-1; fi
curl -sf -H "Authorization: Bearer dt0s16.ZISZKHGH.PREDZEHWHBBZSCUGYZ3ZCIO4RMKGGDSWBPFQP2KOFCYLQAI4VOVYHTUHBUWRQLNN" https://api.example.com/v1/status
export DT_API_TOKEN=dt0c01.MZQKWVLNVGONADTR6VERHKF.MBKX7EBCWZPQB7WOV52MLZDCPSY5M6KVXMMXV45OKSZ2VO2OQNU5T3WKJII2PTTZ
export DT_PLATFORM_TOKEN=dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
CONFLUENCE_TOKEN="${CONFLUENCE_TOKEN:-ATATT3xFfGF0e2ZENuQnzEJJltfk6IdhvSGBeHqWD6v9X3HS8mRcz1xdL_F4s6YYT69_d-hxPNX4DfqvIqD3tehJJXGoXHRIvDqHH1IWDck4dBCQ22Z1Zb8sBTffSmo66-_EomFLqXgrmc92CiiSr5S3R3CaKr9ABh3p7lacBtjq8fw3T-3ULQD=1F1419A3}"
export BITBUCKET_APP_PASSWORD=ATATT3xFfGF0vuklx4rXcdDwOClel6daFpA__KZMbhD__npyk2_6xn9vSXlsNirpL9XTuxUlPDGrNPa-mzLeeF4ib_Cgq8hB26WNijhIcrF8_8KXZ7Z1ijDqbLMqQz20APoetk7G0vf1g_-P5hIJjWaVG9bPgCwN1lPcyIt26TbpQJXB1Gp2T4p=80C46E9B
export JIRA_API_TOKEN=ATATT3xFfGF0...
VAULT_ROOT_TOKEN="${VAULT_ROOT_TOKEN:-hvb.AAAAAQOISVTtWn9oCEMeVV5GskbWRC6eeukbo74Zji5Fo7HSEu9pbDVDW9Gf9Pjdx6Na2bmVCoSZLMOAB6ZLYBUGt9jHYvf47FBwUOw3Kzosfi6TS57oZUpAJPMYKRJWAr8UOmi8glJYsxUaj7E7zFztRmQN}"
export VAULT_TOKEN=${VAULT_TOKEN}
export VAULT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX
curl -sf -H "Authorization: Bearer rTm8Q~Oz~rN5Vxu0-kHGA9k423TUuECZGuVwBBmc" https://api.example.com/v1/status
export AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=<account-key>;EndpointSuffix=core.windows.net
export STORAGE_CONNECTION=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;
GITHUB_TOKEN="${GITHUB_PAT:-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}"
export GH_TOKEN=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
export GH_ENTERPRISE_TOKEN=ghp_************************************
curl -sf -H "Authorization: Bearer xl71KC6z6accsy.atlasv1.5dGqnaJqOQjp_OBNGMEi2lfEIKX7GPf3pgG0IWX8jKnyDPXeV-zVBtOBD2g5Cvzq6HG" https://api.example.com/v1/status
export TFE_TOKEN=${TFE_TOKEN}
export TFE_TOKEN=xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
if [ -z "$REGION" ]; then REGION=eu-west-1; fi
./gradlew test
echo "deploying $SERVICE"

#!/usr/bin/env bash
if [ -z "$REGION" ]; then REGION=eu-west-1; fi
set -euo pipefail
curl -sf -H "Authorization: Bearer GR1348941CQVOBnoKAUGp1wSw-OOH" https://api.example.com/v1/status
export CI_DEPLOY_PASSWORD=glpat-eGo4Qi7lfVTTWu1zGyDBoGM6MQpvOmcKdTpnCw.01.120w0bi3y
export CI_DEPLOY_PASSWORD=glpat-xzmFmnEXAMPLEd1BkxVx
export JIRA_API_TOKEN=Sh55iANOIIrBSiM2kCjG9FtC
export JIRA_API_TOKEN=${JIRA_API_TOKEN}
export JIRA_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxx
export DOCKER_HUB_ACCESS_TOKEN=dckr_pat_6xYDeB-6gmV3rd-lmwuVWpnm_vO
export DOCKER_HUB_ACCESS_TOKEN=${{ secrets.DOCKERHUB_TOKEN }}
export DOCKER_HUB_ACCESS_TOKEN=dckr_pat_124509ugsdjga93
curl -sf -H "Authorization: Bearer dt0e01.GJ3AAXI35MSQEXZIQNXAVQ3U.TQIMPIR6OTAPOXA6RFNO7R6NF5Q5VUJYRCM2UO5M2PXALSIZ233L74RH3TQR52XR" https://api.example.com/v1/status
export EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.SLTMA6T6AKASFXH.FTBIVNLEMFS34K7E27TDXXNJKQMIF6F5NIUHKVTJ
export EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.<token_name>.<token_secret>
export AZURE_CLIENT_SECRET=DefaultEndpointsProtocol=https;AccountName=st6qtxilke88;AccountKey=nlFR/c8mjDz6R0RpWjOWFE7J1vIBrCSytA6Bk4odcAfdqC9nqpY+XBbmNYJabc6kJYFRsj3uroi58j8iB5vU2g==;EndpointSuffix=core.windows.net
export AZURE_CLIENT_SECRET=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;
export AZURE_CLIENT_SECRET=abc8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
NODE_AUTH_TOKEN="${NPM_TOKEN:-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}"
export NPM_AUTH_TOKEN={{ secrets.NPM_TOKEN }}
export NPM_AUTH_TOKEN=npm_************************************
cd "$(dirname "$0")"
docker compose up -d
./gradlew test

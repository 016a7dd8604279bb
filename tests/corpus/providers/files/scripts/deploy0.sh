#!/usr/bin/env bash
make build
echo "deploying $SERVICE"
VAULT_ROOT_TOKEN="${VAULT_ROOT_TOKEN:-hvs.CAESIlUsXQAfMWggmzqFPWPGSh2ol_1hBBX8j6YjZnsDqkNrMs7bl1nbQWc0F6XzK2sP9k_97cnQ-CR8tRJo0Chc0S_}"
export VAULT_ROOT_TOKEN=${VAULT_TOKEN}
export VAULT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX
export SLACK_APP_TOKEN=xoxp-61945105544-233254288978-7019681365695-c340b4ca9864bb96027df40b0b0f543e
export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T3T1WK7JI/BI06PTT6ZR9/EXAMPLEQWvBwRVozIjQpBtyx
export SLACK_APP_TOKEN=xoxb-xxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx
export DT_CONNECTION_AUTH_TOKEN=dt0a01.edm74172.be5e445abe1055f4b4c506abaa45ed6dd0a712bfa4e6c5f9001fbb922becac32
export DT_CONNECTION_AUTH_TOKEN=dt0a01.<tenant-id>.<token>
export DT_CONNECTION_AUTH_TOKEN=dt0a01.abc12345.****************************************************************
export AWS_ACCESS_KEY_ID=AKIAOVD7O2P6NF7RL35Z
export AWS_SECRET_ACCESS_KEY='akl2pZGcPnfJ8uWkkvu3dypkxydp2PtjlCnSq8Mn'
curl -sf -H "Authorization: Bearer glrt-t1_22YTNrhAn88RJyeUt32S6mM6MQpvOnAKdToxCw.01.121fcetnr" https://api.example.com/v1/status
export GL_TOKEN=glpat-3Ez43VIvQQ_lrwd1-9SffGM6MQpvOmgKdTphCw.01.121n7etnz
export CI_DEPLOY_PASSWORD=glpat-********************
curl -sf -H "Authorization: Bearer dt0s16.DF7WQF74.Q3XSHFEESSGCCKUB3YJT6ONSICEIZXN4BX6EL2U4T4X7BLMM4UDFWN5SRNQQ4R75" https://api.example.com/v1/status
export DYNATRACE_API_TOKEN=${DT_API_TOKEN}
export DT_PLATFORM_TOKEN=dt0c01.EPINIR5HEJKJWLT6UBCGPKK4.****************************************************************
echo "deploying $SERVICE"
./gradlew test
if [ -z "$REGION" ]; then REGION=eu-west-1; fi

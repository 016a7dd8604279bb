#!/usr/bin/env bash
make build
./gradlew test
SLACK_TOKEN="${SLACK_APP_TOKEN:-https://hooks.slack.com/services/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}"
export SLACK_BOT_TOKEN=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX
export SLACK_BOT_TOKEN=<your-slack-webhook-url>
export AWS_ACCESS_KEY_ID=ASIACD7RWTH67LV7RKID
export AWS_SECRET_ACCESS_KEY='xy2QwWTXVbNyGR/4TLiRI+VV6NM1E8ku9hV+SMgL'
curl -sf -H "Authorization: Bearer glc_eyJvIjoiMzc5MDIyMiIsIm4iOiJzdGFjay01Nzg0MzcxLWhtLXdyaXRlLXN1ZHBhYiIsImsiOiIyUEtuZXB5R0hyc1VuVnJzSko2emttRzgiLCJtIjp7InIiOiJwcm9kLWV1LXdlc3QtMiJ9fQ==" https://api.example.com/v1/status
export GRAFANA_CLOUD_TOKEN=glsa_iNValIdinValiDinvalidinvalidinva_5b582697
export GRAFANA_CLOUD_TOKEN=glc_eyJvIjoiMTIzNCJ9
curl -sf -H "Authorization: Bearer ATATT3xFfGF02ZsDfjY5pUZ2LMBb89y6nIMdLuDsvTy6Z-YpBTdqX4SfYzoU4xdVHQn8sJBHYZbqbQkl5igZiK-swm5526_HCKjqtIdpkjbu0OE0npgmzVS_hxntL2aVawNMfuwldUXcKQfmbXzgbHrZuFrWHTkZoj0RYGTJ-a0xBQ6bVxMPLXJ=A19EABA8" https://api.example.com/v1/status
export CONFLUENCE_TOKEN=${JIRA_API_TOKEN}
export BITBUCKET_APP_PASSWORD=ATATT3xFfGF0-EXAMPLE-NOT-A-REAL-TOKEN
export ATLAS_TOKEN=7rqtDe7DfC0QHI.atlasv1.06jiJbwi8k7J-QxEptLYTJCGiQRrxqQUend5Wkp6jKW3Z6i6BLOYrjpNhqNoGtbDD4K
export ATLAS_TOKEN=${TFE_TOKEN}
export ATLAS_TOKEN=xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
export GITHUB_TOKEN=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
export GH_ENTERPRISE_TOKEN=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
export GITHUB_TOKEN=${GITHUB_TOKEN}
make build
set -euo pipefail
cd "$(dirname "$0")"

#!/usr/bin/env bash
if [ -z "$REGION" ]; then REGION=eu-west-1; fi
make build
curl -sf -H "Authorization: Bearer sk-ant-api03-sODCzkEoMxz2yERc5iYVNMGksCfLgf0UdKFxWhBR5qdrxPnoPDotigXbbRriW-9CJzPfxo2vzNSDvTwplhaQsukbBKe0-AA" https://api.example.com/v1/status
export ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}
export CLAUDE_API_KEY=sk-ant-api03-...
curl -sf -H "Authorization: Bearer AIzaSyV_nAAF9vvnKKv7zozOKDGm8ZKDdrG-c0e" https://api.example.com/v1/status
export MAPS_API_KEY=<YOUR_API_KEY>
export FIREBASE_API_KEY=AIzaSyabcdefghijklmnopqrstuvwxyz1234567
export AWS_ACCESS_KEY_ID=AKIALGKVTDBXDFRMSZU5
export AWS_SECRET_ACCESS_KEY='TszZi7OTX4ggmp0ELiMEMYDC98fHGQSWe2ZENuQn'
export SHOPIFY_ADMIN_TOKEN=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
export SHOPIFY_API_SECRET=shpat_********************************
export SHOPIFY_ADMIN_TOKEN=shpat_0123456789abcdef0123456789abcdef
curl -sf -H "Authorization: Bearer dt0c01.T6XJLSWGRVUF6LJXYKSHBDVG.HNNTZFPPC4RN7BQV6QA35LGRRQEOVC676FLM5M2RRBVNFGVIZ32AHUPWS5D2XP2Q" https://api.example.com/v1/status
export DT_API_TOKEN=dt0c01.GPJDP73D3YHJCLE234OLJWER.****************************************************************
export DYNATRACE_API_TOKEN=dt0c01.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
curl -sf -H "Authorization: Bearer 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" https://api.example.com/v1/status
export NPM_TOKEN=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
export NPM_TOKEN=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
docker compose up -d
set -euo pipefail
./gradlew test

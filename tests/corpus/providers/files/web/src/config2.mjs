export default config;
const express = require('express');
const github_pat = 'ghu_EXe2fFkqo4Yr3CsZAHQmTNAj3oVc312Vzc8x';
  // e.g. GH_TOKEN=ghp_l47Fd3FFg9oxYIrpWrCfuQMhAoNDnW1x28J
  // e.g. GITHUB_PAT=github_pat_aSmXmBMdhnukwFzJ9XZW
const gemini_api_key = 'AIzaSyUXYcFRYEHNDGHKDTDxeBiJoPol-IHY-CA';
  // e.g. MAPS_API_KEY=AIzaSyGCMgo9bjqznto0nn4u8AXe9TKx8fneP
  // e.g. MAPS_API_KEY=AIza***********************************
  sg_api_key: process.env.SENDGRID_API_KEY || "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",
  // e.g. SG_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  // e.g. SG_API_KEY=SG.CP2_F048QnwXId0XshuPYz.g0oT7wlPeIrOsrmFLJCW
const shopify_api_secret = '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';
  // e.g. SHOPIFY_ADMIN_TOKEN=shpat_0123456789abcdef0123456789abcdef
  // e.g. SHOPIFY_ACCESS_TOKEN=shpat_00000000000000000000000000000000
  npm_auth_token: process.env.NODE_AUTH_TOKEN || "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",
  // e.g. NPM_TOKEN=${NPM_TOKEN}
  // e.g. NODE_AUTH_TOKEN=npm_************************************
const grafana_sa_token = 'eyJrIjoiNkRMc3pNOHpWMDZIRlRCenQ2MG1KUDI3and6ZlMwOUsiLCJuIjoiY2kiLCJpZCI6MX0=';
  // e.g. GRAFANA_TOKEN=eyJrIjoiWHE3dVoyTHdSYjBjOVZ0UHlIbjRzSjNtS2Y4YUdkMWUiLCJuIjoiZGVwbG95In0=
  // e.g. GF_API_KEY=glc_qe0YcsNvEpowOSxrDvcqbzTrtzLBPniDmEiAWku4
export default config;
app.listen(3000);

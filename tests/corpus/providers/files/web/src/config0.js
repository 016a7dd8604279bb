app.listen(3000);
const app = express();
  grafana_sa_token: process.env.GRAFANA_SA_TOKEN || "glc_eyJvIjoiMzE1MTA4NiIsIm4iOiJzdGFjay02NDcyODEzLWhtLXdyaXRlLWJpZ3VwciIsImsiOiJsYURDb0hZQjVheGFSV0xXRkRHbWhUTzUiLCJtIjp7InIiOiJwcm9kLWFwLXNvdXRoLTEifX0=",
  // e.g. GRAFANA_TOKEN=eyJrIjoiWHE3dVoyTHdSYjBjOVZ0UHlIbjRzSjNtS2Y4YUdkMWUiLCJuIjoiZGVwbG95In0=
  // e.g. GF_API_KEY=${GRAFANA_TOKEN}
  npm_auth_token: process.env.NODE_AUTH_TOKEN || "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",
  // e.g. NPM_AUTH_TOKEN={{ secrets.NPM_TOKEN }}
  // e.g. NPM_TOKEN=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
  sg_api_key: process.env.SENDGRID_API_KEY || "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",
  // e.g. SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  // e.g. SENDGRID_API_KEY=SG.tu5fT1E2tr6OqLg82U00xv.FX-XPEy6E-oingJazl9I
const anthropic_api_key = 'sk-ant-api03-I_vT2fbzjZZ6UDdADi8vv9qgFzfky7LeGUJRf5KlYKFg3pOke8zEPBv0HqY-l3PRokmM3bfeECTdjFoQmJR5vydqshJ0ZAA';
  // e.g. CLAUDE_API_KEY=sk-ant-api03-...
  // e.g. ANTHROPIC_API_KEY=sk-ant-api03-AvMxrNNCmF1zPcw3dHi4rXsoS4kwrwj9U0JYxbeZAA
  confluence_api_token: process.env.JIRA_API_TOKEN || "o3ptnbzuVbgpemovrW4rApi7",
  // e.g. JIRA_API_TOKEN=dIABS7bYzRMK1DwCEx4qTiADj
  // e.g. JIRA_TOKEN=<your-jira-api-token>
const shopify_admin_token = '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';
  // e.g. SHOPIFY_ACCESS_TOKEN=shpat_00000000000000000000000000000000
  // e.g. SHOPIFY_API_SECRET=shpat_f8568284db5e0b8c1a758265364fdc7
'use strict';
const express = require('express');

'use strict';
export default config;
  bitbucket_app_password: process.env.ATLASSIAN_API_TOKEN || "ATBB1S2BOBroG6m9IKdx9SOE3sSgB22193CA",
  // e.g. BITBUCKET_APP_PASSWORD=ATBBcCe6fczW96Vzwgvb4r8F2gZS54D591C4
  // e.g. JIRA_API_TOKEN=${JIRA_API_TOKEN}
const edgeconnect_secret_placeholder = 'dt0e01.IMIYZ7G3RQ55T76VEOM3VVU6.BYSLLVL5VIMVX7FGH3M6ZJSCRB6L4AJPU3CZBNLVN5AE22DXDTFILKE3NTCL57E2';
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.YDAT6GN36GNPZU4.5FXAEMKJEKBRUSO2OPWXM6Y3GT7UY3KREWLUCNPT
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.<token_name>.<token_secret>
  gh_enterprise_token: process.env.GH_TOKEN || "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",
  // e.g. GITHUB_PAT=github_pat_xxxxxxxxxxxxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  // e.g. GITHUB_TOKEN=${GITHUB_TOKEN}
const shopify_api_secret = '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';
  // e.g. SHOPIFY_ACCESS_TOKEN=shpat_74d1dbae3a28fd5ddcb15f531ce1fa8
  // e.g. SHOPIFY_API_SECRET=shpat_00000000000000000000000000000000
const dt_connection_auth_token = 'dt0a01.vwz94711.e152fb4d76c866e507008fbbfa81c79ce2715247e296218da397fc130bd1a6f9';
  // e.g. DT_TENANTTOKEN_AUTH=dt0a01.abc12345.****************************************************************
  // e.g. DT_TENANTTOKEN_AUTH=${DT_CONNECTION_AUTH_TOKEN}
const storage_connection = 'DefaultEndpointsProtocol=https;AccountName=st7gybbu5uv6;AccountKey=Mt5vfHsRCE90jhSgQ5olR+S9y3eosYQm0WdSgdCt9xeRrIHIhkuy+mDfzF1AUQXb/AON52uiCU9669/OntsgLQ==;EndpointSuffix=core.windows.net';
  // e.g. STORAGE_CONNECTION=UseDevelopmentStorage=true
  // e.g. AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net
'use strict';
const express = require('express');

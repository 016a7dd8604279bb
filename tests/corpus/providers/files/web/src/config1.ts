'use strict';
module.exports = { timeout: 5000 };
const firebase_api_key = 'AIzaSynyLEPtX90dr_Nr2MgDERaxcuigp7ZqUI-';
  // e.g. MAPS_API_KEY=AIzaSyxvwfbnnjgDVFUq18fBt9yUbW_Me92wT
  // e.g. GEMINI_API_KEY=AIzaSy9LBWUgzmEXAMPLEcSXcGLkQ4jC07tO8Rc
  confluence_token: process.env.JIRA_API_TOKEN || "ATATT3xFfGF0sDLmWDLrW47jFV0d2xR92SS7lwwFSw_Xu0eNjGauUaJO4YkFF50P1H28LgtgwfwVJtmOfR9JPBlOhpIcSc1tlUA46nx7QLS3vMv8Q34HlEmJvSgJcuI54n16-n0EzuCYp28XfMrmeIVaftLSoO7Ft0pVg_OCnEB7nGxAnOk5Aqp=DD8F77CB",
  // e.g. JIRA_API_TOKEN=ATATT3xFfGF0HStz5tHe0PvGZqnIAw-5ACyIfsfpW98_WziQzFIX6l-KJo037HyF80h4B-nH6SDekcYpZ_10X2tvS-jF-bRtJb1EjMOIeA3voAFSeAP0x9axdxwrD6kSdmnJkHO6S4l6k_GJHtKSOBBm5ltdAelzAgIJlzhkF1JuGLGYOpp5kPS=0AF93757
  // e.g. CONFLUENCE_TOKEN=${JIRA_API_TOKEN}
const edgeconnect_secret_placeholder = 'dt0e01.5PKT3GYKP3MGZSDZ4WWJHNIQ.ET3KBSRYVKUBC7M26UBPRNZEPY6U2KKOOBKOSXCAYRYN7QCF3YEABL3VYZE47YS6';
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.<token_name>.<token_secret>
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.ENG5TYHYL2KHTZF.5JAIF5GVA4QR77DPL2C4FO3VGKOGOKJ32AJ2W2SR
const vault_token = 'hvr.rbSOZK3TKyGhR2U0PlJ1LY_glarQuLj-N6rkkuh0CacBI619gyH-PSgrG4iZEqnXkccVHoSd2RE6xPW4AaJx4MW_Niz';
  // e.g. VAULT_ROOT_TOKEN=hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ
  // e.g. VAULT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX
  gitlab_token: process.env.GITLAB_TOKEN || "glpat-u0yPg2a39a3SUgxCJu8f",
  // e.g. CI_DEPLOY_PASSWORD=glpat-JBf1NGY8JztreFcWh0dO6WM6MQpvOjYKdToxCw.01.121rjxnky
  // e.g. GITLAB_PRIVATE_TOKEN=glpat-1tpp7SMF0cX6
const npm_auth_token = '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';
  // e.g. NODE_AUTH_TOKEN={{ secrets.NPM_TOKEN }}
  // e.g. NPM_TOKEN=npm_NFX6dCpmIWvQ7megnY0AtQwkoKzWcEXAMPLE
'use strict';
module.exports = { timeout: 5000 };

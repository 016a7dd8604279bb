'use strict';
export default config;
  stripe_secret_key: process.env.STRIPE_API_KEY || "sk_test_51ChJtLw6PYQHu3ahpTwnAr5f0UdTYn1qjFjcqtNg12S5HK7MINWD3ZXTY9bU5OHcjtHOH79vz0v87XnDFM3iD54FlhWnSEGCyT",
  // e.g. STRIPE_API_KEY=pk_test_51nahzhx0nhj20rcXIGlusJwtMaOTwiPiP9dDwVOEqY2onU8866eyYiLK6FtTaN6j0i6OtYLQHqXWoUtKMcUSzeZG2brl703Fus
  // e.g. STRIPE_KEY=pk_test_TYooMQauvdEDq54NiTphI7jx
const azure_storage_connection_string = 'DefaultEndpointsProtocol=https;AccountName=stmq3xd1v164;AccountKey=zuxVpELA5QYG8mLIXXT5BI2wdn1ilDqCTAK9MsasNzYKmhTXzj1zw912Honir1+zoEjgksGuwI33U9IkYsZueQ==;EndpointSuffix=core.windows.net';
  // e.g. AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;
  // e.g. AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net
  gf_api_key: process.env.GRAFANA_CLOUD_TOKEN || "glc_eyJvIjoiMjIxMzE2NCIsIm4iOiJzdGFjay00MzExNjMwLWhtLXdyaXRlLXFoZ3l3dSIsImsiOiJ5cGljaGZUNmVrZDY5dUl0VUpsOWFwczgiLCJtIjp7InIiOiJwcm9kLWFwLXNvdXRoLTEifX0=",
  // e.g. GF_API_KEY=glsa_iNValIdinValiDinvalidinvalidinva_5b582697
  // e.g. GRAFANA_CLOUD_TOKEN=${GRAFANA_TOKEN}
  sg_api_key: process.env.SENDGRID_API_KEY || "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",
  // e.g. SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  // e.g. SENDGRID_API_KEY=SG.tB1EZMrApzMnBNaFhBoAEN.UmJp2lnUKUihMLvvDdAD
const vault_root_token = 'hvb.AAAAAQndpRuTtx-PuGweIv-BlRvPNkdrRcb-hVnr6i8PYIVA91gIQhSns2R-awTj71G1vBUKGWEekIRSP8t2hrfuaAhD0zLNDHnQBeZ-QweB0XIAzn2JQoSnqSTO4p32OobMezdY4Hel7-gMn6cK7IJhR9IJ';
  // e.g. VAULT_ROOT_TOKEN=${VAULT_TOKEN}
  // e.g. VAULT_ROOT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX
  edgeconnect_secret_placeholder: process.env.EDGECONNECT_SECRET_PLACEHOLDER || "dt0e01.VHGHID62CCA66MPRUJIPUTIF.F2E43L6PRKUH4FA7KNBJHZC4V3LBWXYVZEFCOB253EED2PSA7NRMZKZ3H24F6JVC",
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.U2KWJEPUYSLRRGH.C5PAFFCMBCQB66RFB2XNLGAQMTONUWB7ZXDXJAVE
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.<token_name>.<token_secret>
module.exports = { timeout: 5000 };
const app = express();

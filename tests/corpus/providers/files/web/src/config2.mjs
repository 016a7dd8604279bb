app.listen(3000);
const app = express();
const dockerhub_token = 'dckr_pat_HtKSOBBm5ltdAelzAgIJlzhkF1J';
  // e.g. DOCKERHUB_TOKEN=${{ secrets.DOCKERHUB_TOKEN }}
  // e.g. DOCKERHUB_TOKEN=dckr_pat_124509ugsdjga93
const storage_connection = 'oDr7Q~X.0E4Ld2rNVdMcVT21BT0t-0kiMzjSkNWC';
  // e.g. AZURE_CLIENT_SECRET=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;
  // e.g. AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net
const openai_api_key = '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';
  // e.g. OPENAI_ADMIN_KEY=${OPENAI_API_KEY}
  // e.g. OPENAI_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
const vault_root_token = 'hvb.AAAAAQwmR1ioIfNYko1ssjtKtJxXnV1ZXyTnCm9E-AENhns6gTK6EtW0ddmfEuFbMevuMAjpVK7KKwRsF_gZAaHt0kvDY7LTuzty2VvUXYcFRYEHNDGHKDTDxeBiJoPol-IHY-CAzWB89_2vpFpoHSiB5pGC';
  // e.g. VAULT_TOKEN=hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ
  // e.g. VAULT_TOKEN=${VAULT_TOKEN}
  npm_token: process.env.NODE_AUTH_TOKEN || "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",
  // e.g. NPM_TOKEN=npm_1LlgWpQ1XupHM4Z8xQ5assUkTwqmdp317dQG
  // e.g. NODE_AUTH_TOKEN=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
  ci_deploy_password: process.env.GITLAB_TOKEN || "GR1348941pcCtHJlm52phzWalHWgE",
  // e.g. GL_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx
  // e.g. CI_DEPLOY_PASSWORD=glrtr-W5m1cHR6skC98Bx7XkuYjmM6MQpnOjgKbzpyegp0OjIQ.01.181uebm4k
export default config;
'use strict';

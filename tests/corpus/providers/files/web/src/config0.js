'use strict';
app.listen(3000);
const shopify_admin_token = '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';
  // e.g. SHOPIFY_API_SECRET=shpat_********************************
  // e.g. SHOPIFY_ADMIN_TOKEN=shpat_4bf6dc5450df08e6a047edc9d223c00
  bitbucket_app_password: process.env.ATLASSIAN_API_TOKEN || "ATATT3xFfGF0cIxp8xXVKm1adxWhPvtoUY5pk8zM3LgsweonagXzz7VpQw5BB8YyXd-BjsdfYlOgTAvMxrNNCmF1zPcw3dHi4rXsoS4kwrwj9U0JYxbeZg6uH2r39sBNWBV59GeWTwNkE7QADl2wjZVHFInAGWTKLYbafHSTQPfO1lmbNO2aHda=84CB4B65",
  // e.g. BITBUCKET_APP_PASSWORD=ATBB1AGpmFAwDDRUyKebGlPPdyrA0C56EB67
  // e.g. CONFLUENCE_TOKEN=ATATT3xFfGF0nNaoDnO0XpFSwEY69B3S-Vc_PS68rHGQ7_lCcX1gB5hqXTr36x-AaBYmXO1Vlcb7SfI_I34nf818gXYgLhR1sX7BujxHrfUiIbUPaQ90yepBtBjEZMrApzMnBNaFhBoAENUmJp2lnUKUihMLvvDdADFqQH8QrGujx6oK9rfPcoV=33824664
const dockerhub_token = 'dckr_pat_cxmQaEXDzqh71JIMbNcJNKmhIKU';
  // e.g. DOCKER_HUB_ACCESS_TOKEN=${{ secrets.DOCKERHUB_TOKEN }}
  // e.g. DOCKER_HUB_ACCESS_TOKEN=dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx
const google_api_key = 'AIzaSy5ZfctXTYDbP6tkOlNfxG_90iuU_4b_uhz';
  // e.g. GEMINI_API_KEY=AIzaSymnk5zzuGvBoAn6feC9w7mUIIhm0rkAM
  // e.g. GEMINI_API_KEY=<YOUR_API_KEY>
  stripe_secret_key: process.env.STRIPE_API_KEY || "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",
  // e.g. STRIPE_KEY=sk_test_BQokikJOvBiI2HlWgH4olfQ2
  // e.g. STRIPE_API_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc
  dt_api_token: process.env.DYNATRACE_API_TOKEN || "dt0s01.R6JNGFIZNCQCKEN3RKUNBZX7.TMF5TY37BGLL5YUXP24AEHB75ZIVLWUU6ISGK7P33KG5OSSGVG32I4XXTQJRGGD5",
  // e.g. DT_API_TOKEN=dt0c01.UAYADAZIXUOUYTCBXEW72VYH.****************************************************************
  // e.g. DYNATRACE_API_TOKEN=dt0c01.XECILX2RH3JDL6MURGFMYK5.YWELT2KCBEOTRHI6BSIOPXIQQSBRYUA65Q3EYDPCOXGDEE6OVWWZTSPC5O7PXW5B
app.listen(3000);
export default config;

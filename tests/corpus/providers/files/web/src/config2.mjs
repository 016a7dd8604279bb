export default config;
app.listen(3000);
  docker_password: process.env.DOCKERHUB_TOKEN || "dckr_pat_IVEa6Dx3Akq_WBIQc-Xfq5Ewpt8",
  // e.g. DOCKER_PASSWORD=dckr_pat_124509ugsdjga93
  // e.g. DOCKER_PASSWORD=${{ secrets.DOCKERHUB_TOKEN }}
  jira_api_token: process.env.CONFLUENCE_TOKEN || "ATATT3xFfGF0T2osnC64bifsjSNklHxZTNFP5MMrITD0B4njZpr_4CpjMaamPXABRHhUetDTh9A6beOFc0ocFj7PA577_PC-9X9z74Ju3hqwqwY0sa85Mn3iYLHy2Lholt90G3NR3XKeH1XzMvwo6eKHMgvaXoKmD4TrBJnPtK5TuKaxyWyqajn=7AA3BA0C",
  // e.g. ATLASSIAN_API_TOKEN=ATATT3xFfGF0...
  // e.g. JIRA_API_TOKEN=ATBBYYCJHfjLgmXuaPGRD3NXKNs0010448C3
const vault_token = 'hvb.AAAAAQhwZVD_LqWZIU4g50p6nx0AIN6FSMkhG0MZeM6vr7IG9VwyGg24dqUm5xOWQjAFZb8_YK92c_5ec2FlgAqbPshPTA3jNLggK0Ko1YHTzpXq56FeJfewefJlc53cUjBTs2GFnyYCQHHStz5tOe0PvGZq';
  // e.g. VAULT_ROOT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX
  // e.g. VAULT_ROOT_TOKEN=hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ
  edgeconnect_secret_placeholder: process.env.EDGECONNECT_SECRET_PLACEHOLDER || "dt0e01.ABZEPWPUL667LZRIZCEL5S7F.EU235DZC62Q4A7TD5JBPSOMUM722L3WXJ7RC7NIWEN2CRGHEPA3XUACJPAH2Y6NY",
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.VB5SJOTTESDH5J4.S5S7DEDWFJHAAT4SWOAPSZAQEESZQSC2EXDFDMHU
  // e.g. EDGECONNECT_SECRET_PLACEHOLDER=dt0e01.<token_name>.<token_secret>
  sendgrid_api_key: process.env.SG_API_KEY || "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",
  // e.g. SG_API_KEY=<your SendGrid API key>
  // e.g. SENDGRID_API_KEY=SG.ayJfx8p0UUdcDVdluEBxiw.b-hFL2xJBCW3qwyI4-xl
  stripe_secret_key: process.env.STRIPE_API_KEY || "sk_live_5NGdhxTgYHYpyLaKHoT74ZqF",
  // e.g. STRIPE_API_KEY=pk_live_3bbTDIGJ7MUCavNu1YUkq2vE
  // e.g. STRIPE_API_KEY=sk_live_3FCaQb6jPLACEHOLDERL40ky
module.exports = { timeout: 5000 };
module.exports = { timeout: 5000 };

#!/usr/bin/env python3
"""Layout sweep: every built-in rule's one-line examples written into 81 file layouts (recall)
and placeholders / the rules' own negatives in the same layouts (precision).

    python3 benches/layouts/gen.py && python3 benches/layouts/run.py target/release/tokenguard

Writes $LAYOUTS_DIR (default /tmp/tokenguard-layouts)/pos/<layout>/<rule>__<case>__<name>,
.../neg/<layout>/..., and manifest.json: one record per file with the expectation.

Case kinds (from the example's VALUE):
  token      a bare prefixed/structured token (ghp_..., dt0c01...): expected in every layout
  b64        a bare base64 of a token (the examples' Kubernetes form): expected anywhere too
  composite  a value that carries its own context (Azure connection string, Slack webhook URL,
             `...?Api-Token=...`): expected wherever the value is written
  keyed      a secret that needs its key (aws-secret-access-key, twilio-api-secret, every
             rule with a keyed section): expected only in layouts whose mode is 'kv'
Layout modes:
  kv     the key stands in a reasonable place: every kind expected
  tok    token-only context (Bearer header, URL userinfo, prose): token/b64 expected; keyed
         generated but NOT expected (informational); composite not generated
  nokey  the key is present but not in a key position (comment line before, WHERE clause):
         token/b64/composite expected, keyed NOT expected (informational)
"""
import base64, glob, json, os, random, re, shutil, tomllib

ROOT = os.environ.get('LAYOUTS_DIR', '/tmp/tokenguard-layouts')
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'rules')
KEYED = {'aws-secret-access-key', 'twilio-api-secret', 'dynatrace-legacy-token'}
KV_RE = re.compile(r'''^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*["']?([^"'\s]+)["']?\s*$''')
PREFIXES = [r'dt0[a-z]\d\d\.', r'gh[pousr]_', r'github_pat_', r'gl(?:pat|rtr|rt|dt|ft|cbt|oas|imt|agent|soat|ffct|ptt)-',
            r'glsa_', r'glc_', r'hv[sb]\.', r'npm_', r'sk-ant-(?:api03|admin01)-', r'sk-(?:proj|svcacct|admin)-',
            r'sk-', r'pypi-', r'SG\.', r'shp(?:at|ca|pa|ss)_', r'xox[bpe]-', r'xapp-', r'[sr]k_(?:live|test)_',
            r'dckr_pat_', r'AIza', r'ATATT3', r'ATBB', r'AccountKey=', r'https://hooks\.slack\.com/services/']


def load_rules():
    rules = []
    for f in sorted(glob.glob(os.path.join(RULES, '*.toml'))):
        for r in tomllib.load(open(f, 'rb')).get('rules', []):
            rules.append(r)
            # Keyed rules (a value told only by its key) need their key in the layout too.
            if 'keyed' in r:
                KEYED.add(r['id'])
    return rules


def text_of(e):
    return e['text'] if isinstance(e, dict) else e


def kind_of(rid, v):
    if rid in KEYED and 'Api-Token' not in v:
        return 'keyed'
    if re.fullmatch(r'[A-Za-z0-9_.+/=-]+', v):
        if re.fullmatch(r'[A-Za-z0-9+/]+={0,2}', v) and len(v) % 4 == 0 and not any(
                re.match(p, v) for p in PREFIXES):
            try:
                if base64.b64decode(v).isascii():
                    return 'b64'
            except Exception:
                pass
        return 'token'
    return 'composite'


# ---- key spellings ------------------------------------------------------------------------
def ident(k): return re.sub(r'[^A-Za-z0-9_]', '_', k)
def upper(k): return ident(k).upper()
def lower(k): return ident(k).lower()
def kebab(k): return lower(k).replace('_', '-')
def dotted(k): return lower(k).replace('_', '.')


def camel(k):
    parts = [p for p in re.split(r'[_.\-]', k) if p]
    if len(parts) == 1:
        return k[:1].lower() + k[1:]
    return parts[0].lower() + ''.join(p[:1].upper() + p[1:].lower() for p in parts[1:])


def pascal(k):
    c = camel(k)
    return c[:1].upper() + c[1:]


def jskey(k): return k if re.fullmatch(r'[A-Za-z_$][A-Za-z0-9_$]*', k) else f"'{k}'"
def jsenv(k): return f'process.env.{k}' if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k) else f'process.env["{k}"]'
def b64(s): return base64.b64encode(s.encode()).decode()


def ipynb_output(k, v):
    nb = {"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {},
                     "outputs": [{"name": "stdout", "output_type": "stream",
                                  "text": ["APP_ENV=prod\n", f"{k}={v}\n"]}],
                     "source": [f"!env | grep -e APP_ENV -e {ident(k)}"]}],
          "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1) + '\n'


def ipynb_source(k, v):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": ["import os\n", f'os.environ["{k}"] = "{v}"\n', "client = make_client()\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1) + '\n'


def k8s_envfile(k, v):
    env = f"APP_ENV=production\nLOG_LEVEL=info\n{k}={v}\nPORT=8080\n"
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-env\ntype: Opaque\ndata:\n"
            f"  .env: {b64(env)}\n")


def k8s_envfile_b(k, v):
    """The same Secret with a one-letter name: the blob starts 9 bytes earlier."""
    return k8s_envfile(k, v).replace('name: app-env', 'name: a')


def echo_envfile(k, v):
    env = f"APP_ENV=production\nLOG_LEVEL=info\n{k}={v}\nPORT=8080\n"
    return f"echo {b64(env)} | base64 -d > .env\n"


def bom_crlf(k, v):
    return ('\ufeff# settings\r\n' + f'{k}={v}\r\nDEBUG=0\r\n').encode('utf-8')


# (name, file name, mode, template or function). Template fields: {K} key as written, {KI}
# identifier, {KU} upper, {KL} lower, {KK} kebab, {KD} dotted, {KC} camel, {KP} Pascal, {KJ} JS
# object key, {KE} process.env access, {V} value, {VB64} base64(value), {AUTHB64} base64(user:V).
LAYOUTS = [
    # --- key in a reasonable place --------------------------------------------------------
    ('js_backtick', 'config.js', 'kv', 'const config = {\n  {KJ}: `{V}`,\n  region: `eu-west-1`,\n};\n'),
    ('js_nullish', 'app.js', 'kv', 'const token = {KE} ?? "{V}";\n'),
    ('js_or_default', 'app.js', 'kv', "const token = {KE} || '{V}';\n"),
    ('ts_typed_const', 'config.ts', 'kv', 'export const {KI}: string = "{V}";\n'),
    ('rust_const', 'config.rs', 'kv', 'pub const {KU}: &str = "{V}";\n'),
    ('kotlin_const', 'Config.kt', 'kv', 'object Config {\n    const val {KU} = "{V}"\n}\n'),
    ('swift_let', 'Config.swift', 'kv', 'enum Config {\n    static let {KI} = "{V}"\n}\n'),
    ('csharp_const', 'Settings.cs', 'kv', 'public static class Settings\n{\n    public const string {KI} = "{V}";\n}\n'),
    ('appsettings_nested', 'appsettings.json', 'kv',
     '{\n  "Logging": { "LogLevel": { "Default": "Information" } },\n  "Dynatrace": {\n    "Auth": {\n      "{K}": "{V}"\n    }\n  }\n}\n'),
    ('android_strings', 'strings.xml', 'kv',
     '<?xml version="1.0" encoding="utf-8"?>\n<resources>\n    <string name="app_name">Demo</string>\n    <string name="{KL}">{V}</string>\n</resources>\n'),
    ('plist', 'Info.plist', 'kv',
     '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n\t<key>{K}</key>\n\t<string>{V}</string>\n</dict>\n</plist>\n'),
    ('ruby_rocket', 'config.rb', 'kv', 'CONFIG = {\n  "{K}" => "{V}",\n  "region" => "eu"\n}\n'),
    ('php_define', 'config.php', 'kv', "<?php\ndefine('{K}', '{V}');\n"),
    ('spring_value_default', 'Client.java', 'kv', '@Value("${{KD}:{V}}")\nprivate String token;\n'),
    ('properties_colon', 'application.properties', 'kv', 'server.port:8080\n{KD}:{V}\n'),
    ('makefile_qassign', 'Makefile', 'kv', '{K} ?= {V}\n\nall:\n\t@echo ok\n'),
    ('shell_continuation', 'run.sh', 'kv', 'docker run --rm \\\n  -e {K}={V} \\\n  -e OTHER=1 \\\n  myimage:latest\n'),
    ('export_comment', 'env.sh', 'kv', "export {K}='{V}' # prod\n"),
    ('env_comment', 'app.env', 'kv', '{K}={V} # prod key, rotate monthly\n'),
    ('log_line', 'app.log', 'kv', '2024-05-01T10:00:00Z INFO loaded {K}={V}\n2024-05-01T10:00:01Z INFO started\n'),
    ('json_minified', 'config.min.json', 'kv', '{"name":"svc","region":"eu-west-1","{K}":"{V}","debug":false,"port":8080}\n'),
    ('yaml_anchor_merge', 'config.yaml', 'kv', 'defaults: &defaults\n  {K}: {V}\n  timeout: 30\nproduction:\n  <<: *defaults\n  debug: false\n'),
    ('hcl_variable_default', 'variables.tf', 'kv', 'variable "{KL}" {\n  default = "{V}"\n}\n'),
    ('tfvars', 'prod.tfvars', 'kv', '{KL} = "{V}"\n'),
    ('gha_with', 'deploy.yml', 'kv',
     'jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: some/action@v1\n        with:\n          {KK}: {V}\n'),
    ('systemd_env', 'app.service', 'kv', '[Service]\nEnvironment="{K}={V}"\nExecStart=/usr/bin/app\n'),
    ('bom_crlf_env', 'win.env', 'kv', bom_crlf),
    ('yaml_tabs', 'config.yml', 'kv', 'config:\n\t{K}: {V}\n\tdebug: true\n'),
    ('ipynb_output', 'nb_out.ipynb', 'kv', ipynb_output),
    ('ipynb_source_environ', 'nb_src.ipynb', 'kv', ipynb_source),
    ('k8s_secret_data', 'secret.yaml', 'kv',
     'apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  {K}: {VB64}\n'),
    ('k8s_secret_envfile', 'secret-env.yaml', 'kv', k8s_envfile),
    ('py_fstring', 'app.py', 'kv', 'line = f"{K}={V}\\n{extra}"\n'),
    ('py_format', 'app.py', 'kv', 'header = "{}: {}".format("{K}", "{V}")\n'),
    ('py_getenv_default', 'settings.py', 'kv', 'TOKEN = os.getenv("{K}", "{V}")\n'),
    ('py_environ_get', 'settings.py', 'kv', 'TOKEN = os.environ.get("{K}", "{V}")\n'),
    ('go_setenv', 'main.go', 'kv', 'package main\n\nimport "os"\n\nfunc init() {\n\tos.Setenv("{K}", "{V}")\n}\n'),
    ('go_struct_pascal', 'cfg.go', 'kv', 'var cfg = Config{\n\t{KP}: "{V}",\n}\n'),
    ('sql_update', 'migrate.sql', 'kv', "UPDATE settings SET {KI} = '{V}' WHERE id = 1;\n"),
    ('diff_patch', 'change.patch', 'kv',
     'diff --git a/.env b/.env\nindex 83db48f..bf269f4 100644\n--- a/.env\n+++ b/.env\n@@ -1,2 +1,3 @@\n APP=demo\n-{K}=\n+{K}={V}\n DEBUG=0\n'),
    ('java_setproperty', 'Main.java', 'kv', 'System.setProperty("{K}", "{V}");\nprops.put("{K}", "{V}");\n'),
    ('csharp_setenv', 'Program.cs', 'kv', 'Environment.SetEnvironmentVariable("{K}", "{V}");\n'),
    ('gradle_buildconfig', 'build.gradle.kts', 'kv',
     'android {\n    defaultConfig {\n        buildConfigField("String", "{KU}", "\\"{V}\\"")\n    }\n}\n'),
    ('ruby_env_fetch', 'boot.rb', 'kv', 'token = ENV.fetch("{K}", "{V}")\n'),
    ('ruby_or_assign', 'boot.rb', 'kv', 'ENV["{K}"] ||= "{V}"\n'),
    ('dockerfile_arg', 'Dockerfile', 'kv', 'FROM alpine:3.19\nARG {K}={V}\nRUN ./setup.sh\n'),
    ('html_hidden', 'form.html', 'kv', '<form>\n  <input type="hidden" name="{K}" value="{V}">\n</form>\n'),
    ('xml_entry', 'props.xml', 'kv', '<properties>\n  <entry key="{K}">{V}</entry>\n</properties>\n'),
    ('toml_inline', 'config.toml', 'kv', 'creds = { {KL} = "{V}", region = "eu" }\n'),
    ('hcl_map_quoted', 'main.tf', 'kv', 'locals {\n  env = {\n    "{K}" = "{V}"\n  }\n}\n'),
    ('k8s_args_flag', 'deploy.yaml', 'kv', '      containers:\n        - name: app\n          args: ["--{KK}", "{V}"]\n'),
    ('yaml_json_string', 'values.yaml', 'kv', "config.json: '{\"{K}\": \"{V}\"}'\n"),
    ('procfile', 'Procfile', 'kv', 'web: {K}={V} node server.js\n'),
    ('json_camel', 'settings.json', 'kv', '{\n  "{KC}": "{V}"\n}\n'),
    ('react_env_prefix', 'prod.env', 'kv', 'REACT_APP_{KU}={V}\n'),
    ('ps_setenv', 'setup.ps1', 'kv', '[Environment]::SetEnvironmentVariable("{K}", "{V}", "User")\n'),
    ('crontab', 'crontab', 'kv', '0 * * * * {K}={V} /usr/local/bin/sync.sh\n'),
    ('gitlab_ci_value', 'gitlab-ci.yml', 'kv', 'variables:\n  {K}:\n    value: "{V}"\n    description: "prod"\n'),
    ('gh_secret_set', 'bootstrap.sh', 'kv', 'gh secret set {K} --body "{V}"\n'),
    ('kubectl_literal', 'bootstrap.sh', 'kv', 'kubectl create secret generic app --from-literal={K}={V}\n'),
    ('aws_ssm_put', 'bootstrap.sh', 'kv', 'aws ssm put-parameter --name /app/{K} --value "{V}" --type SecureString\n'),
    ('py_annotated', 'settings.py', 'kv', 'class Settings(BaseSettings):\n    {KL}: str = "{V}"\n'),
    ('go_var_typed', 'vars.go', 'kv', 'var {KP} string = "{V}"\n'),
    ('kotlin_elvis', 'Env.kt', 'kv', 'val token = System.getenv("{K}") ?: "{V}"\n'),
    ('sh_default', 'start.sh', 'kv', 'export {K}="${{K}:-{V}}"\n'),
    ('compose_default', 'docker-compose.yml', 'kv', 'services:\n  app:\n    environment:\n      {K}: ${{K}:-{V}}\n'),
    ('k8s_secret_envfile_b', 'secret-env-b.yaml', 'kv', k8s_envfile_b),
    ('echo_b64_envfile', 'restore.sh', 'kv', echo_envfile),
    # --- token-only contexts ----------------------------------------------------------------
    ('npmrc', '.npmrc', 'tok', '//registry.npmjs.org/:_authToken={V}\n'),
    ('url_userinfo', 'clone.sh', 'tok', 'git clone https://deploy:{V}@git.example.com/org/repo.git\n'),
    ('http_bearer', 'request.http', 'tok',
     'GET /api/v2/items HTTP/1.1\nHost: api.example.com\nAuthorization: Bearer {V}\nAccept: application/json\n\n'),
    ('nginx_bearer', 'nginx.conf', 'tok',
     'location /api/ {\n    proxy_pass https://upstream;\n    proxy_set_header Authorization "Bearer {V}";\n}\n'),
    ('js_template_bearer', 'client.js', 'tok', 'const auth = `Bearer {V}`;\n'),
    ('docker_auths', 'config.json', 'tok', '{\n  "auths": {\n    "https://index.docker.io/v1/": {\n      "auth": "{AUTHB64}"\n    }\n  }\n}\n'),
    ('md_prose', 'README.md', 'tok', '# Setup\n\nUse the token {V} to log in.\n'),
    ('md_inline_code', 'NOTES.md', 'tok', 'Set `{V}` as the password in the CI settings.\n'),
    ('netrc', 'netrc', 'tok', 'machine api.example.com login deploy password {V}\n'),
    ('curl_user', 'get.sh', 'tok', 'curl -u deploy:{V} https://api.example.com/\n'),
    ('yaml_list_item', 'tokens.yml', 'tok', 'tokens:\n  - {V}\n'),
    # --- key present, not in a key position ----------------------------------------------------
    ('java_value_comment', 'Svc.java', 'nokey', '// {K} for prod\n@Value("{V}")\nprivate String token;\n'),
    ('sql_where_name', 'seed.sql', 'nokey', "UPDATE settings SET value = '{V}' WHERE name = '{K}';\n"),
]


def render(tpl, k, v):
    if callable(tpl):
        return tpl(k, v)
    fields = {'K': k, 'KI': ident(k), 'KU': upper(k), 'KL': lower(k), 'KK': kebab(k), 'KD': dotted(k),
              'KC': camel(k), 'KP': pascal(k), 'KJ': jskey(k), 'KE': jsenv(k), 'V': v, 'VB64': b64(v),
              'AUTHB64': b64('deploy:' + v)}
    # Only our {FIELD} markers are replaced; every other brace stays as written.
    return re.sub(r'\{(K|KI|KU|KL|KK|KD|KC|KP|KJ|KE|V|VB64|AUTHB64)\}', lambda m: fields[m.group(1)], tpl)


def expected(mode, kind):
    if mode == 'kv':
        return True
    if mode == 'tok':
        return kind in ('token', 'b64')
    return kind != 'keyed'


def generate(mode, kind):
    return not (mode == 'tok' and kind == 'composite')


# ---- placeholders -------------------------------------------------------------------------
def split_prefix(s):
    for p in PREFIXES:
        m = re.match(p, s)
        if m:
            return s[:m.end()], s[m.end():]
    return '', s


def placeholders(k, s, rng):
    """(name, replacement for the secret substring s)."""
    p, body = split_prefix(s)
    out = [('star', (p + '****') if p else '****************'),
           ('xfill', p + re.sub(r'[A-Za-z0-9]', 'X', body))]
    for w in ('FAKE', 'EXAMPLE', 'TEST'):
        i = max(0, len(body) // 2 - len(w) // 2)
        out.append((f'word_{w}', p + body[:i] + w + body[i + len(w):]))
    hx = lambda n: ''.join(rng.choice('0123456789abcdef') for _ in range(n))
    u = hx(32)
    out += [('env_ref', '${' + k + '}'), ('gha_secret', '{{ secrets.' + ident(k) + ' }}'),
            ('your_token', '<your-token>'), ('x8', 'xxxxxxxx'), ('changeme', 'changeme'),
            ('gitsha', hx(40)), ('GITSHA', hx(40).upper()), ('uuid', f'{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}'),
            ('uuid_nodash', hx(32)), ('sha256', hx(64)), ('md5', hx(32))]
    return out


# ---- extra multi-line cases (pairs and private keys) --------------------------------------
def extras(rules):
    by = {r['id']: r for r in rules}
    aws = text_of(by['aws-access-key']['examples'][0])
    akid, asec = aws.split(',')
    tw = text_of(by['twilio-api-key']['examples'][1]).split('\n')
    skid, tsec = tw[0].split('=')[1], tw[1].split('=')[1]
    pem = text_of(by['private-key']['examples'][0])
    pem_b64 = b64(pem + '\n')
    AWS = ('aws-access-key', 'aws-secret-access-key')
    pos = [
        ('aws_credentials_csv', 'credentials.csv', AWS,
         f'User name,Password,Access key ID,Secret access key,Console login link\ndeploy,,{akid},{asec},https://x.signin.aws.amazon.com/console\n'),
        ('aws_iam_create_json', 'key.json', AWS,
         '{\n    "AccessKey": {\n        "UserName": "deploy",\n        "AccessKeyId": "' + akid + '",\n        "Status": "Active",\n        "SecretAccessKey": "' + asec + '",\n        "CreateDate": "2024-05-01T10:00:00+00:00"\n    }\n}\n'),
        ('aws_boto3_kwargs', 's3.py', AWS,
         f's3 = boto3.client(\n    "s3",\n    aws_access_key_id="{akid}",\n    aws_secret_access_key="{asec}",\n)\n'),
        ('aws_js_sdk_camel', 's3.js', AWS,
         f"const s3 = new S3Client({{\n  credentials: {{\n    accessKeyId: '{akid}',\n    secretAccessKey: '{asec}',\n  }},\n}});\n"),
        ('aws_tf_provider', 'provider.tf', AWS,
         f'provider "aws" {{\n  region     = "eu-west-1"\n  access_key = "{akid}"\n  secret_key = "{asec}"\n}}\n'),
        ('aws_minio_camel', 'minio.json', AWS,
         f'{{"url": "https://s3.example.com", "accessKey": "{akid}", "secretKey": "{asec}", "api": "s3v4"}}\n'),
        ('twilio_client_call', 'sms.py', ('twilio-api-key', 'twilio-api-secret'),
         f'from twilio.rest import Client\nclient = Client("{skid}", "{tsec}", account_sid)\n'),
        ('twilio_env_pair', 'twilio.env', ('twilio-api-key', 'twilio-api-secret'),
         f'TWILIO_API_KEY={skid}\nTWILIO_API_SECRET={tsec}\n'),
        ('pem_crlf', 'id_rsa', ('private-key',), pem.replace('\n', '\r\n') + '\r\n'),
        ('pem_tf_heredoc', 'tls.tf', ('private-key',), 'locals {\n  key = <<EOF\n' + pem + '\nEOF\n}\n'),
        ('pem_k8s_secret_b64', 'tls-secret.yaml', ('private-key',),
         f'apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.key: {pem_b64}\n'),
        ('pem_ipynb_output', 'keys.ipynb', ('private-key',),
         json.dumps({"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout",
                                                                   "text": [l + '\n' for l in pem.split('\n')]}],
                                "source": ["print(open('id_rsa').read())"]}]}, indent=1) + '\n'),
        ('pem_ipynb_source', 'keys_src.ipynb', ('private-key',),
         json.dumps({"cells": [{"cell_type": "code", "outputs": [],
                                "source": ['KEY = """' + pem.split('\n')[0] + '\n'] + [l + '\n' for l in pem.split('\n')[1:]] + ['"""\n']}]}, indent=1) + '\n'),
        ('pem_json_escaped_in_yaml', 'sa.yaml', ('private-key',),
         'key.json: ' + json.dumps(json.dumps({"private_key": pem + '\n'})) + '\n'),
    ]
    ex_id, ex_sec = 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    neg = [
        ('aws_credentials_csv', 'credentials.csv', AWS,
         f'User name,Password,Access key ID,Secret access key\ndeploy,,{ex_id},{ex_sec}\n'),
        ('aws_iam_create_json', 'key.json', AWS,
         '{"AccessKey": {"AccessKeyId": "' + ex_id + '", "SecretAccessKey": "' + ex_sec + '"}}\n'),
        ('aws_boto3_env', 's3.py', AWS,
         's3 = boto3.client("s3", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],\n    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])\n'),
        ('aws_id_and_sha', 'deploy.log', AWS,
         f'key {akid} deployed at commit 1f3fe196d5c0fa8a7317c6dd439fbca179621d7b\n'),
        ('pem_ellipsis_crlf', 'id_rsa', ('private-key',),
         '-----BEGIN RSA PRIVATE KEY-----\r\nMIIEpAIBAAKCAQEA...\r\n...\r\n-----END RSA PRIVATE KEY-----\r\n'),
        ('pem_public', 'id_rsa.pub.pem', ('private-key',),
         '-----BEGIN PUBLIC KEY-----\n' + '\n'.join(pem.split('\n')[1:-1]) + '\n-----END PUBLIC KEY-----\n'),
    ]
    return pos, neg


def main():
    rules = load_rules()
    for d in ('pos', 'neg'):
        shutil.rmtree(f'{ROOT}/{d}', ignore_errors=True)
    manifest = []
    rng = random.Random(4)

    def write(set_, layout, fname, data, rec):
        d = f'{ROOT}/{set_}/{layout}'
        os.makedirs(d, exist_ok=True)
        path = f'{d}/{fname}'
        with open(path, 'wb') as fh:
            fh.write(data if isinstance(data, bytes) else data.encode())
        rec.update(set=set_, layout=layout, file=path)
        manifest.append(rec)

    for r in rules:
        rid = r['id']
        cases = []
        for i, e in enumerate(r.get('examples', [])):
            t = text_of(e)
            # control: the example as written (multi-line ones too)
            write('pos', 'raw_control', f'{rid}__{i}__example.txt', t + '\n',
                  dict(rule=rid, case=i, kind='raw', expected=True, rules=[rid]))
            m = KV_RE.match(t) if '\n' not in t else None
            if not m:
                continue
            k, v = m.group(1), m.group(2)
            kind = kind_of(rid, v)
            secret = e.get('token', v) if isinstance(e, dict) else v
            if secret not in v:
                secret = v
            cases.append((i, k, v, kind, secret))
            for name, fn_, mode, tpl in LAYOUTS:
                if not generate(mode, kind):
                    continue
                write('pos', name, f'{rid}__{i}__{fn_}', render(tpl, k, v),
                      dict(rule=rid, case=i, kind=kind, mode=mode, expected=expected(mode, kind), rules=[rid]))
        # negatives: the rule's own ones (as written, and as KEY=VALUE in every layout)
        for j, t in enumerate(r.get('negatives', [])):
            write('neg', 'raw_control', f'{rid}__n{j}__negative.txt', t + '\n',
                  dict(rule=rid, neg=f'n{j}', rules=[rid]))
            m = KV_RE.match(t) if '\n' not in t else None
            if not m:
                continue
            k, v = m.group(1), m.group(2)
            for name, fn_, mode, tpl in LAYOUTS:
                write('neg', name, f'{rid}__n{j}__{fn_}', render(tpl, k, v), dict(rule=rid, neg=f'n{j}', rules=[rid]))
        # placeholders in the value place, from the rule's first token/keyed case (else composite)
        pick = [c for c in cases if c[3] in ('token', 'keyed')] or [c for c in cases if c[3] == 'composite']
        if not pick:
            continue
        i, k, v, kind, secret = pick[0]
        for pname, rep in placeholders(k, secret, rng):
            pv = v.replace(secret, rep)
            for name, fn_, mode, tpl in LAYOUTS:
                write('neg', name, f'{rid}__{pname}__{fn_}', render(tpl, k, pv),
                      dict(rule=rid, neg=pname, rules=[rid]))
    xpos, xneg = extras(rules)
    for name, fn_, rs, text in xpos:
        write('pos', 'extra_' + name, f'{rs[0]}__x__{fn_}', text,
              dict(rule=rs[0], case='x', kind='pair/pem', mode='kv', expected=True, rules=list(rs)))
    for name, fn_, rs, text in xneg:
        write('neg', 'extra_' + name, f'{rs[0]}__x__{fn_}', text, dict(rule=rs[0], neg='x', rules=list(rs)))
    json.dump(manifest, open(f'{ROOT}/manifest.json', 'w'), indent=0)
    pos = [m for m in manifest if m['set'] == 'pos']
    print(f"layouts: {len(LAYOUTS)} (+{len(xpos)} extra, + raw_control)")
    print(f"positive files: {len(pos)} (expected {sum(m['expected'] for m in pos)}), "
          f"negative files: {len(manifest) - len(pos)}")


if __name__ == '__main__':
    main()

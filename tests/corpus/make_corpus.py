#!/usr/bin/env python3
"""Writes the labelled multi-provider corpus: tests/corpus/providers/files/... and
tests/corpus/providers/labels.json (one entry per line of every file:
{"file", "line", "label": "token"|"clean", "case"}), the format of the shared Dynatrace corpus.

    python3 tests/corpus/make_corpus.py            # rewrites tests/corpus/providers

Every token is synthetic: random characters with the provider's checksum or structure made
right (formats and sources: docs/research/providers-verified.md). The seed is fixed, so the
output is the same on every run (Python 3.7+, standard library only).

`case` is "<provider>:<variant>" for lines that hold a token or a near miss of a provider,
"hash:<kind>" for hashes and ids, and "filler" for the rest. A line labelled `token` must
produce a finding; every other line must produce none.
"""
import base64
import binascii
import hashlib
import json
import os
import random
import shutil
import struct
import sys
import urllib.parse

SEED = 20261201
R = random.Random(SEED)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "providers")

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"

# Words that mark a placeholder: no random body may hold one by chance.
WORDS = ["FAKE", "TEST", "MOCK", "DEMO", "INVALID", "EXAMPLE", "DUMMY", "SAMPLE", "PLACEHOLDER",
         "XXXX", "TODO"]


def rand(alphabet, n):
    while True:
        s = "".join(R.choice(alphabet) for _ in range(n))
        up = s.upper()
        if not any(w in up for w in WORDS):
            return s


def radix(n, digits, width):
    out = ""
    while n:
        out = digits[n % len(digits)] + out
        n //= len(digits)
    return out.rjust(width, digits[0])[-width:]


def crc32(data):
    return binascii.crc32(data.encode() if isinstance(data, str) else data) & 0xFFFFFFFF


# ------------------------------------------------------------------------------------------
# Checksummed formats (the same algorithms as src/matcher/checksum.rs, written separately)

def github_check(body):
    return radix(crc32(body), BASE62, 6)


def github_classic(prefix, body=None):
    body = body if body is not None else rand(ALNUM, 30)
    return prefix + body + github_check(body)


def github_pat(head=None):
    head = head or "github_pat_11" + rand(UPPER_ALNUM, 9) + "0" + rand(ALNUM, 10) + "_" + rand(ALNUM, 43)
    check = base64.b32encode(hashlib.sha256(head.encode()).digest()).decode()[:8]
    return head + check + rand(ALNUM, 8)


def gitlab_routable(prefix, routing=None):
    routing = routing or "c:1\no:%s\nu:%s" % (radix(R.randrange(1, 10**6), BASE36, 1).lstrip("0") or "1",
                                             radix(R.randrange(1, 10**9), BASE36, 1).lstrip("0") or "1")
    payload = bytes(R.randrange(256) for _ in range(16)) + routing.encode() + bytes([len(routing)])
    b64 = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    head = prefix + b64 + ".01." + radix(len(b64), BASE36, 2)
    return head + radix(crc32(head), BASE36, 7)


def grafana_sa(secret=None):
    key = "glsa_" + (secret or rand(ALNUM, 32))
    return key + "_" + struct.pack("<I", crc32(key)).hex()


def grafana_cloud():
    obj = {"o": rand(DIGITS, 7), "n": "stack-%s-hm-write-%s" % (rand(DIGITS, 7), rand("abcdefghijklmnopqrstuvwxyz", 6)),
           "k": rand(ALNUM, 24), "m": {"r": R.choice(["prod-us-east-0", "prod-eu-west-2", "prod-ap-south-1"])}}
    return "glc_" + base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


def atlassian_check(head):
    return "%08X" % crc32(head)


def atlassian_api():
    head = "ATATT3xFfGF0" + rand(B64URL, 171) + "="
    return head + atlassian_check(head)


def bitbucket():
    head = "ATBB" + rand(ALNUM, 24)
    return head + atlassian_check(head)


def uuid4():
    h = rand(HEX, 32)
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], R.choice("89ab"), h[17:20], h[20:32])


def pypi(location="pypi.org", sig_len=32):
    ident = uuid4()

    def field(kind, data):
        return bytes([kind, len(data)]) + data

    caveat = json.dumps([1, [ident]], separators=(",", ":")).encode()
    raw = b"\x02" + field(1, location.encode()) + field(2, ident.encode()) + b"\x00"
    raw += field(2, caveat) + b"\x00" + b"\x00"
    raw += field(6, bytes(R.randrange(256) for _ in range(sig_len)))
    return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ------------------------------------------------------------------------------------------
# Formats without a checksum

def slack_bot():
    return "xoxb-%s-%s-%s" % (rand(DIGITS, R.choice([10, 11, 12, 13])), rand(DIGITS, 13), rand(ALNUM, 24))


def slack_user():
    return "xoxp-%s-%s-%s-%s" % (rand(DIGITS, 11), rand(DIGITS, 12), rand(DIGITS, 13), rand(HEX, 32))


def slack_app():
    return "xapp-1-A%s-%s-%s" % (rand(UPPER_ALNUM, 10), rand(DIGITS, 13), rand(HEX, 64))


def slack_webhook():
    return "https://hooks.slack.com/services/T%s/B%s/%s" % (rand(UPPER_ALNUM, 8), rand(UPPER_ALNUM, 10), rand(ALNUM, 24))


def slack_config(kind):
    if kind == "access":
        return "xoxe.xoxp-1-" + rand(ALNUM, 162)
    return "xoxe-1-" + rand(ALNUM, 146)


def slack_legacy():
    return R.choice(["xoxa-2-" + rand(ALNUM, 34), "xoxb-%s-%s" % (rand(DIGITS, 12), rand(ALNUM, 24))])


def slack_workflow():
    return "https://hooks.slack.com/workflows/T%s/A%s/%s/%s" % (rand(UPPER_ALNUM, 8), rand(UPPER_ALNUM, 10), rand(DIGITS, 18), rand(ALNUM, 24))


def entra_secret():
    return rand(ALNUM, 3) + R.choice("78") + "Q~" + rand(ALNUM + "_~.-", 34)


def grafana_api_key():
    key = '{"k":"%s","n":"%s","id":%d}' % (rand(ALNUM, 32), R.choice(["deploy", "ci", "admin-key"]), R.randrange(1, 99))
    return base64.b64encode(key.encode()).decode()


def stripe(prefix):
    n = R.choice([24, 99])
    body = ("51" + rand(ALNUM, n - 2)) if n == 99 else rand(ALNUM, n)
    return prefix + body


def google_api():
    return "AIzaSy" + rand(B64URL, 33)


def openai(kind):
    if kind == "legacy":
        return "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20)
    return "sk-%s-%sT3BlbkFJ%s" % (kind, rand(B64URL, 74), rand(B64URL, 74))


def anthropic(kind):
    return "sk-ant-%s-%sAA" % (kind, rand(B64URL, 93))


def sendgrid():
    return "SG.%s.%s" % (rand(B64URL, 22), rand(B64URL, 43))


def shopify(prefix):
    return prefix + rand(HEX, 32)


def docker_pat():
    return "dckr_pat_" + rand(B64URL, 27)


def vault(kind):
    if kind == "hvs":
        return "hvs.CAESI" + rand(B64URL, 86)
    return "hvb.AAAAAQ" + rand(B64URL, 150)


def terraform():
    return rand(ALNUM, 14) + ".atlasv1." + rand(B64URL, 67)


def twilio():
    return "SK" + rand(HEX, 32), rand(ALNUM, 32)


def aws(prefix="AKIA"):
    return prefix + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), rand(B64, 40)


def azure_conn():
    key = base64.b64encode(bytes(R.randrange(256) for _ in range(64))).decode()
    name = "st" + rand("abcdefghijklmnopqrstuvwxyz0123456789", 10)
    return "DefaultEndpointsProtocol=https;AccountName=%s;AccountKey=%s;EndpointSuffix=core.windows.net" % (name, key)


def dynatrace(prefix, public_len):
    return "%s.%s.%s" % (prefix, rand(BASE32, public_len), rand(BASE32, 64))


def dynatrace_agent():
    return "dt0a01.%s%s.%s" % (rand("abcdefghijklmnopqrstuvwxyz", 3), rand(DIGITS, 5), rand(HEX, 64))


def dynatrace_edgeconnect():
    return "dt0e01.%s.%s" % (rand(BASE32, 24), rand(BASE32, 64))


# ------------------------------------------------------------------------------------------
# Private keys: DER structures with random numbers (parse as keys), armoured.

def der(tag, body):
    n = len(body)
    if n < 128:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + length + body


def der_int(nbytes):
    v = bytes([R.randrange(64, 128)]) + bytes(R.randrange(256) for _ in range(nbytes - 1))
    return der(0x02, v)


def rsa_der():
    ints = [der(0x02, b"\x00"), der_int(256), der(0x02, b"\x01\x00\x01"), der_int(256),
            der_int(128), der_int(128), der_int(128), der_int(128), der_int(128)]
    return der(0x30, b"".join(ints))


def pkcs8_der():
    alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b""))
    return der(0x30, der(0x02, b"\x00") + alg + der(0x04, rsa_der()))


def ec_der():
    priv = der(0x04, bytes(R.randrange(256) for _ in range(32)))
    oid = bytes([0xA0]) + bytes([10]) + der(0x06, bytes.fromhex("2a8648ce3d030107"))
    pub = der(0x03, b"\x00\x04" + bytes(R.randrange(256) for _ in range(64)))
    return der(0x30, der(0x02, b"\x01") + priv + oid + bytes([0xA1, len(pub)]) + pub)


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def openssh_ed25519():
    pub = bytes(R.randrange(256) for _ in range(32))
    pubblob = ssh_string(b"ssh-ed25519") + ssh_string(pub)
    check = bytes(R.randrange(256) for _ in range(4))
    priv = check + check + ssh_string(b"ssh-ed25519") + ssh_string(pub)
    priv += ssh_string(bytes(R.randrange(256) for _ in range(32)) + pub) + ssh_string(b"deploy@ci")
    pad = 1
    while len(priv) % 8:
        priv += bytes([pad])
        pad += 1
    blob = b"openssh-key-v1\x00" + ssh_string(b"none") + ssh_string(b"none") + ssh_string(b"")
    blob += struct.pack(">I", 1) + ssh_string(pubblob) + ssh_string(priv)
    return blob


def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_private():
    # A secret-key packet header (tag 5, new format) and random material.
    body = bytes([0xC5, 0xFF, 0x00, 0x00, 0x03, 0x00, 0x04]) + bytes(R.randrange(256) for _ in range(900))
    return body


def pem_lines(label, data, width=64):
    b64 = base64.b64encode(data).decode()
    return (["-----BEGIN %s-----" % label] + [b64[i:i + width] for i in range(0, len(b64), width)]
            + ["-----END %s-----" % label])


def private_key(kind):
    lines = _private_key(kind)
    GENERATED.append(lines[1] if lines[1] else lines[2])
    return lines


def _private_key(kind):
    if kind == "rsa":
        return pem_lines("RSA PRIVATE KEY", rsa_der())
    if kind == "pkcs8":
        return pem_lines("PRIVATE KEY", pkcs8_der())
    if kind == "ec":
        return pem_lines("EC PRIVATE KEY", ec_der())
    if kind == "openssh":
        return pem_lines("OPENSSH PRIVATE KEY", openssh_ed25519(), 70)
    if kind == "pgp":
        data = pgp_private()
        b64 = base64.b64encode(data).decode()
        return (["-----BEGIN PGP PRIVATE KEY BLOCK-----", ""] + [b64[i:i + 64] for i in range(0, len(b64), 64)]
                + ["=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode(), "-----END PGP PRIVATE KEY BLOCK-----"])
    raise ValueError(kind)


def public_key(kind):
    if kind == "ssh-rsa":
        return ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + rand(B64, 340) + " deploy@ci"]
    if kind == "pem-public":
        return pem_lines("PUBLIC KEY", der(0x30, der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b"")) + der(0x03, b"\x00" + rsa_der()[:270])))
    if kind == "certificate":
        return pem_lines("CERTIFICATE", der(0x30, bytes(R.randrange(256) for _ in range(700))))
    if kind == "pgp-public":
        data = bytes([0xC6, 0xFF, 0x00, 0x00, 0x03, 0x00]) + bytes(R.randrange(256) for _ in range(600))
        b64 = base64.b64encode(data).decode()
        return (["-----BEGIN PGP PUBLIC KEY BLOCK-----", ""] + [b64[i:i + 64] for i in range(0, len(b64), 64)]
                + ["=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode(), "-----END PGP PUBLIC KEY BLOCK-----"])
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------
# Providers: env names, how to make a real token (kind, value), and near misses (variant,
# value) that are not tokens.

def with_word(word, alphabet, n):
    body = rand(alphabet, n - len(word))
    i = R.randrange(len(body) + 1)
    return body[:i] + word + body[i:]


def edit_one(token, start, alphabet=ALNUM):
    """The token with one character (at `start` or after) changed: its check now fails."""
    i = R.randrange(start, len(token))
    while not token[i].isalnum():
        i = R.randrange(start, len(token))
    c = R.choice([a for a in alphabet if a != token[i]])
    return token[:i] + c + token[i + 1:]


PROVIDERS = {}


def provider(name, envs, tokens, negatives):
    PROVIDERS[name] = {"envs": envs, "tokens": tokens, "negatives": negatives}


provider("github", ["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT", "GH_ENTERPRISE_TOKEN"],
         lambda: R.choice([("ghp", github_classic("ghp_")), ("gho", github_classic("gho_")),
                           ("ghu", github_classic("ghu_")), ("ghs", github_classic("ghs_")),
                           ("ghr", github_classic("ghr_")), ("github_pat", github_pat()),
                           ("github_pat", github_pat())]),
         lambda: [("bad-checksum", edit_one(github_classic("ghp_"), 4)),
                  ("bad-checksum", edit_one(github_classic("gho_"), 34)),
                  ("bad-checksum", edit_one(github_pat(), 11)),
                  ("all-same", github_classic("ghp_", "0" * 30)),
                  ("all-same", "ghp_" + "x" * 36),
                  ("sequential", github_classic("ghp_", "abcdefghijklmnopqrstuvwxyz0123")),
                  ("word", github_classic("ghp_", with_word(R.choice(WORDS[:9]), ALNUM, 30))),
                  ("masked", "ghp_" + "*" * 36),
                  ("masked", "ghp_" + rand(ALNUM, 4) + "…"),
                  ("template", "${GITHUB_TOKEN}"),
                  ("template", "${{ secrets.GITHUB_TOKEN }}"),
                  ("template", "<your-github-token>"),
                  ("wrong-length", github_classic("ghp_")[:-1]),
                  ("wrong-length", "github_pat_" + rand(ALNUM, 20)),
                  ("published-sample", "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"),
                  ("published-sample", "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"),
                  ("placeholder", "github_pat_" + "x" * 22 + "_" + "x" * 59)])

provider("npm", ["NPM_TOKEN", "NODE_AUTH_TOKEN", "NPM_AUTH_TOKEN"],
         lambda: ("npm", github_classic("npm_")),
         lambda: [("bad-checksum", edit_one(github_classic("npm_"), 4)),
                  ("published-sample", "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"),
                  ("published-sample", "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"),
                  ("word", "npm_NFX6dCpmIWvQ7megnY0AtQwkoKzWcEXAMPLE"),
                  ("word", github_classic("npm_", with_word("DUMMY", ALNUM, 30))),
                  ("all-same", github_classic("npm_", "a" * 30)),
                  ("template", "${NPM_TOKEN}"),
                  ("template", "{{ secrets.NPM_TOKEN }}"),
                  ("masked", "npm_" + "*" * 36)])

provider("gitlab", ["GITLAB_TOKEN", "GL_TOKEN", "CI_DEPLOY_PASSWORD", "GITLAB_PRIVATE_TOKEN"],
         lambda: R.choice([("glpat-routable", gitlab_routable("glpat-")), ("glpat-routable", gitlab_routable("glpat-")),
                           ("gldt-routable", gitlab_routable("gldt-")), ("glrt-routable", gitlab_routable("glrt-t1_")),
                           ("glpat-legacy", "glpat-" + rand(B64URL, 20)), ("gldt-legacy", "gldt-" + rand(B64URL, 20)),
                           ("glptt", "glptt-" + rand(HEX, 40)), ("gloas", "gloas-" + rand(B64URL, 64)),
                           ("glpat-instance-prefix", gitlab_routable("acme-glpat-")),
                           ("runner-registration", "GR1348941" + rand(B64URL, 20))]),
         lambda: [("bad-checksum", edit_one(gitlab_routable("glpat-"), 6, B64URL)),
                  ("published-sample", "glrtr-W5m1cHR6skC98Bx7XkuYjmM6MQpnOjgKbzpyegp0OjIQ.01.181uebm4k"),
                  ("placeholder", "glpat-XXXXXXXXXXX-XXXXXXXX"),
                  ("all-same", "glpat-" + "x" * 20),
                  ("masked", "glpat-" + "*" * 20),
                  ("template", "$CI_JOB_TOKEN"),
                  ("template", "${GITLAB_TOKEN}"),
                  ("wrong-length", "glpat-" + rand(B64URL, 12)),
                  ("word", "glpat-" + with_word("EXAMPLE", ALNUM, 20))])

provider("grafana", ["GRAFANA_TOKEN", "GRAFANA_SA_TOKEN", "GRAFANA_CLOUD_TOKEN", "GF_API_KEY"],
         lambda: R.choice([("glsa", grafana_sa()), ("glsa", grafana_sa()), ("glc", grafana_cloud()), ("api-key", grafana_api_key())]),
         lambda: [("bad-checksum", edit_one(grafana_sa(), 5)),
                  ("published-sample", "glsa_iNValIdinValiDinvalidinvalidinva_5b582697"),
                  ("published-sample", "glsa_ThisI5NtTheTok3nYou8reLo0k1ngF0r_0a2a3df7"),
                  ("all-same", grafana_sa("0" * 32)),
                  ("placeholder", "glc_eyJvIjoiMTIzNCJ9"),
                  ("bad-structure", "eyJrIjoiWHE3dVoyTHdSYjBjOVZ0UHlIbjRzSjNtS2Y4YUdkMWUiLCJuIjoiZGVwbG95In0="),
                  ("placeholder", "glc_" + rand(ALNUM, 40)),
                  ("template", "${GRAFANA_TOKEN}")])

provider("atlassian", ["JIRA_API_TOKEN", "CONFLUENCE_TOKEN", "ATLASSIAN_API_TOKEN", "BITBUCKET_APP_PASSWORD"],
         lambda: R.choice([("atatt", atlassian_api()), ("atatt", atlassian_api()), ("atbb", bitbucket())]),
         lambda: [("bad-checksum", edit_one(atlassian_api(), 12, B64URL)),
                  ("bad-checksum", edit_one(bitbucket(), 4)),
                  ("published-sample", "ATBBcCe6fczW96Vzwgvb4r8F2gZS54D591C4"),
                  ("placeholder", "ATATT3xFfGF0..."),
                  ("placeholder", "ATATT3xFfGF0-EXAMPLE-NOT-A-REAL-TOKEN"),
                  ("template", "${JIRA_API_TOKEN}")])

# Atlassian's older 24-character API tokens: no prefix, found only after a Jira, Confluence or
# Atlassian key ending in token.
provider("atlassian-legacy", ["JIRA_API_TOKEN", "CONFLUENCE_API_TOKEN", "ATLASSIAN_TOKEN", "JIRA_TOKEN"],
         lambda: ("legacy", rand(ALNUM, 24)),
         lambda: [("wrong-length", rand(ALNUM, 23)),
                  ("wrong-length", rand(ALNUM, 25)),
                  ("all-same", "x" * 24),
                  ("sequential", "abcdefghijklmnopqrstuvwx"),
                  ("word", with_word(R.choice(WORDS[:9]), ALNUM, 24)),
                  ("masked", "*" * 24),
                  ("template", "${JIRA_API_TOKEN}"),
                  ("template", "<your-jira-api-token>")])

provider("slack", ["SLACK_BOT_TOKEN", "SLACK_TOKEN", "SLACK_APP_TOKEN", "SLACK_WEBHOOK_URL"],
         lambda: R.choice([("xoxb", slack_bot()), ("xoxb", slack_bot()), ("xoxp", slack_user()),
                           ("xapp", slack_app()), ("webhook", slack_webhook()), ("webhook", slack_webhook()),
                           ("xoxe-config", slack_config("access")), ("xoxe-refresh", slack_config("refresh")),
                           ("legacy", slack_legacy()), ("workflow-webhook", slack_workflow())]),
         lambda: [("published-sample", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
                  ("placeholder", "xoxb-xxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"),
                  ("sequential", "xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx"),
                  ("masked", "xoxb-" + "*" * 30),
                  ("template", "${SLACK_BOT_TOKEN}"),
                  ("template", "<your-slack-webhook-url>"),
                  ("word", "https://hooks.slack.com/services/T%s/B%s/%s" % (rand(UPPER_ALNUM, 8), rand(UPPER_ALNUM, 10), with_word("EXAMPLE", ALNUM, 24)))])

provider("stripe", ["STRIPE_SECRET_KEY", "STRIPE_API_KEY", "STRIPE_KEY"],
         lambda: R.choice([("sk_live", stripe("sk_live_")), ("sk_live", stripe("sk_live_")),
                           ("rk_live", stripe("rk_live_")), ("sk_test", stripe("sk_test_"))]),
         lambda: [("published-sample", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
                  ("published-sample", "sk_test_BQokikJOvBiI2HlWgH4olfQ2"),
                  ("publishable", "pk_test_TYooMQauvdEDq54NiTphI7jx"),
                  ("publishable", stripe("pk_live_")),
                  ("publishable", stripe("pk_test_")),
                  ("masked", "sk_live_" + "*" * 24),
                  ("word", "sk_live_" + with_word("PLACEHOLDER", ALNUM, 24)),
                  ("all-same", "sk_live_" + "x" * 24),
                  ("template", "${STRIPE_SECRET_KEY}")])

provider("google", ["GOOGLE_API_KEY", "GEMINI_API_KEY", "MAPS_API_KEY", "FIREBASE_API_KEY"],
         lambda: ("aiza", google_api()),
         lambda: [("published-sample", "AIzaSyabcdefghijklmnopqrstuvwxyz1234567"),
                  ("word", "AIzaSy" + with_word("EXAMPLE", ALNUM, 33)),
                  ("wrong-length", google_api()[:-2]),
                  ("masked", "AIza" + "*" * 35),
                  ("template", "<YOUR_API_KEY>")])

provider("openai", ["OPENAI_API_KEY", "OPENAI_KEY", "OPENAI_ADMIN_KEY"],
         lambda: R.choice([("sk-proj", openai("proj")), ("sk-proj", openai("proj")),
                           ("sk-svcacct", openai("svcacct")), ("sk-admin", openai("admin")),
                           ("legacy", openai("legacy"))]),
         lambda: [("no-marker", "sk-proj-" + rand(B64URL, 156)),
                  ("placeholder", "sk-proj-your-api-key-here"),
                  ("placeholder", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
                  ("masked", "sk-proj-" + "*" * 20),
                  ("template", "${OPENAI_API_KEY}")])

provider("anthropic", ["ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "ANTHROPIC_ADMIN_KEY"],
         lambda: R.choice([("api03", anthropic("api03")), ("api03", anthropic("api03")), ("admin01", anthropic("admin01"))]),
         lambda: [("wrong-suffix", "sk-ant-api03-%sBB" % rand(B64URL, 93)),
                  ("wrong-length", "sk-ant-api03-%sAA" % rand(B64URL, 40)),
                  ("placeholder", "sk-ant-api03-..."),
                  ("template", "${ANTHROPIC_API_KEY}")])

provider("sendgrid", ["SENDGRID_API_KEY", "SG_API_KEY"],
         lambda: ("sg", sendgrid()),
         lambda: [("placeholder", "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
                  ("wrong-length", "SG.%s.%s" % (rand(B64URL, 22), rand(B64URL, 20))),
                  ("template", "<your SendGrid API key>")])

provider("shopify", ["SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET", "SHOPIFY_ADMIN_TOKEN"],
         lambda: R.choice([("shpat", shopify("shpat_")), ("shpss", shopify("shpss_")), ("shpca", shopify("shpca_"))]),
         lambda: [("all-same", "shpat_" + "0" * 32),
                  ("sequential", "shpat_0123456789abcdef0123456789abcdef"),
                  ("wrong-length", shopify("shpat_")[:-1]),
                  ("masked", "shpat_" + "*" * 32),
                  ("template", "<shpat_...>")])

provider("pypi", ["PYPI_API_TOKEN", "TWINE_PASSWORD", "PYPI_TOKEN"],
         lambda: ("macaroon", pypi()),
         lambda: [("not-a-macaroon", "pypi-AgEIcHlwaS5vcmc" + rand(B64URL, 150)),
                  ("not-a-macaroon", pypi("pypi.org", 31)),
                  ("placeholder", "pypi-<your-token>"),
                  ("truncated", "pypi-AgEIcHlwaS5vcmc..."),
                  ("template", "${{ secrets.PYPI_API_TOKEN }}")])

provider("dockerhub", ["DOCKERHUB_TOKEN", "DOCKER_PASSWORD", "DOCKER_HUB_ACCESS_TOKEN"],
         lambda: ("dckr_pat", docker_pat()),
         lambda: [("published-sample", "dckr_pat_124509ugsdjga93"),
                  ("all-same", "dckr_pat_" + "x" * 27),
                  ("template", "${{ secrets.DOCKERHUB_TOKEN }}")])

provider("vault", ["VAULT_TOKEN", "VAULT_ROOT_TOKEN"],
         lambda: R.choice([("hvs", vault("hvs")), ("hvs", vault("hvs")), ("hvb", vault("hvb")), ("hvr", "hvr." + rand(B64URL, 91))]),
         lambda: [("placeholder", "hvs.XXXXXXXXXXXXXXXXXXXXXXXX"),
                  ("published-sample", "hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ"),
                  ("template", "${VAULT_TOKEN}")])

provider("terraform", ["TFE_TOKEN", "TF_TOKEN_app_terraform_io", "ATLAS_TOKEN"],
         lambda: ("atlasv1", terraform()),
         lambda: [("placeholder", "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
                  ("template", "${TFE_TOKEN}")])

provider("twilio", ["TWILIO_API_KEY"], None,
         lambda: [("sid-alone", "SK" + rand(HEX, 32)),
                  ("sid-alone", "AC" + rand(HEX, 32)),
                  ("template", "${TWILIO_API_SECRET}")])

provider("aws", ["AWS_ACCESS_KEY_ID"], None,
         lambda: [("key-id-alone", aws()[0]),
                  ("published-sample", "AKIAIOSFODNN7EXAMPLE"),
                  ("published-sample", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                  ("template", "${AWS_SECRET_ACCESS_KEY}"),
                  ("masked", "****************************************")])

provider("azure", ["AZURE_STORAGE_CONNECTION_STRING", "STORAGE_CONNECTION", "AZURE_CLIENT_SECRET"],
         lambda: R.choice([("storage-key", azure_conn()), ("storage-key", azure_conn()), ("entra-client-secret", entra_secret())]),
         lambda: [("published-sample", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"),
                  ("emulator", "UseDevelopmentStorage=true"),
                  ("template", "DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=<account-key>;EndpointSuffix=core.windows.net"),
                  ("template", "DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net"),
                  ("placeholder", "abc8Q~" + "x" * 34),
                  ("sequential", "abc8Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ12345"),
                  ("template", "<your-client-secret>")])

provider("dynatrace", ["DT_API_TOKEN", "DYNATRACE_API_TOKEN", "DT_PLATFORM_TOKEN"],
         lambda: R.choice([("dt0c01", dynatrace("dt0c01", 24)), ("dt0c01", dynatrace("dt0c01", 24)),
                           ("dt0s16", dynatrace("dt0s16", 8)), ("dt0s01", dynatrace("dt0s01", 24))]),
         lambda: [("published-sample", "dt0c01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM"),
                  ("all-same", "dt0c01." + "A" * 24 + "." + "A" * 64),
                  ("masked", "dt0c01.%s.%s" % (rand(BASE32, 24), "*" * 64)),
                  ("wrong-length", dynatrace("dt0c01", 23)),
                  ("public-part-only", "dt0c01." + rand(BASE32, 24)),
                  ("template", "${DT_API_TOKEN}")])

provider("dynatrace-agent", ["DT_CONNECTION_AUTH_TOKEN", "DT_TENANTTOKEN_AUTH"],
         lambda: ("dt0a01", dynatrace_agent()),
         lambda: [("all-same", "dt0a01.abc12345." + "0" * 64),
                  ("masked", "dt0a01.abc12345." + "*" * 64),
                  ("placeholder", "dt0a01.<tenant-id>.<token>"),
                  ("template", "${DT_CONNECTION_AUTH_TOKEN}")])

provider("dynatrace-edgeconnect", ["EDGECONNECT_SECRET_PLACEHOLDER"],
         lambda: ("dt0e01", dynatrace_edgeconnect()),
         lambda: [("placeholder", "dt0e01.<token_name>.<token_secret>"),
                  ("wrong-length", "dt0e01.%s.%s" % (rand(BASE32, 15), rand(BASE32, 40)))])

# Providers whose token is two values (an identifier and a secret).
PAIRS = {
    "aws": lambda: (("pair",) + aws(R.choice(["AKIA", "AKIA", "ASIA"]))),
    "twilio": lambda: (("pair",) + twilio()),
}
PAIR_KEYS = {"aws": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
             "twilio": ("TWILIO_API_KEY", "TWILIO_API_SECRET")}

# Hashes and identifiers that look random and are no secret.
def hash_values():
    return [("git-sha1", rand(HEX, 40)),
            ("sha256", rand(HEX, 64)),
            ("uuid", uuid4()),
            ("integrity", "sha512-" + base64.b64encode(bytes(R.randrange(256) for _ in range(64))).decode()),
            ("go-sum", "h1:" + base64.b64encode(bytes(R.randrange(256) for _ in range(32))).decode()),
            ("docker-digest", "sha256:" + rand(HEX, 64))]


def image_data():
    png = b"\x89PNG\r\n\x1a\n" + bytes(R.randrange(256) for _ in range(90))
    return "data:image/png;base64," + base64.b64encode(png).decode()


# ------------------------------------------------------------------------------------------
# Files

class File:
    def __init__(self, path):
        self.path = path
        self.lines = []  # (text, label, case)

    def add(self, text, label="clean", case="filler"):
        for part in text.split("\n"):
            self.lines.append((part, label, case))

    def token(self, text, prov, kind):
        self.lines.append((text, "token", "%s:%s" % (prov, kind)))
        # The secret this line holds as written (plain, URL-encoded, JSON-escaped), if any:
        # no output may show it.
        for value in reversed(GENERATED[-40:]):
            forms = [value, urllib.parse.quote(value, safe=""), value.replace("/", "\\/"),
                     urllib.parse.quote(urllib.parse.quote("https://app.example.com/login?token=" + value, safe=""), safe="")]
            if any(f in text for f in forms):
                SECRETS.append({"file": self.path, "line": len(self.lines), "secret": value})
                return

    def neg(self, text, prov, variant):
        self.lines.append((text, "clean", "%s:%s" % (prov, variant)))


FILES = []
SECRETS = []


def new_file(path):
    f = File(path)
    FILES.append(f)
    return f


def pick_providers(names=None, k=6):
    names = names or [p for p in PROVIDERS if PROVIDERS[p]["tokens"]]
    return R.sample(names, min(k, len(names)))


# Secret values made so far, newest last: File.token looks up which one a line holds.
GENERATED = []


def real(prov):
    kind, value = PROVIDERS[prov]["tokens"]()
    GENERATED.append(value)
    return kind, value


def pair(prov):
    """An identifier and its secret (only the secret is recorded as one)."""
    kind, ident, secret = PAIRS[prov]()
    GENERATED.append(secret)
    return kind, ident, secret


def negs(prov, k=2):
    items = PROVIDERS[prov]["negatives"]()
    return R.sample(items, min(k, len(items)))


def env_name(prov):
    return R.choice(PROVIDERS[prov]["envs"])


SINGLE = [p for p in PROVIDERS if PROVIDERS[p]["tokens"]]
ALL = list(PROVIDERS)
# Kinds without a prefix, told only by their key: never written without it (a bare value in a
# header, a log, a CSV cell or a minified script is no token of theirs to any scanner).
KEYED = {"atlassian-legacy"}
BARE = [p for p in SINGLE if p not in KEYED]


def kv_file(path, fmt, header, providers, footer=""):
    """A key/value file: `fmt` formats (name, value) into one line."""
    f = new_file(path)
    f.add(header)
    for prov in providers:
        f.add(R.choice(FILLER_COMMENTS).replace("#", COMMENT[fmt_kind(path)]))
        if prov in PAIRS:
            _, ident, secret = pair(prov)
            k1, k2 = PAIR_KEYS[prov]
            f.token(fmt(k1, ident), prov, "pair")
            f.token(fmt(k2, secret), prov, "pair")
        else:
            kind, value = real(prov)
            f.token(fmt(env_name(prov), value), prov, kind)
        for variant, value in negs(prov):
            f.neg(fmt(env_name(prov), value), prov, variant)
    if footer:
        f.add(footer)
    return f


COMMENT = {"sh": "#", "py": "#", "yaml": "#", "toml": "#", "ini": "#", "props": "#", "js": "//",
           "go": "//", "java": "//", "tf": "#", "xml": "<!--", "other": "#", "rb": "#", "php": "//"}


def fmt_kind(path):
    ext = path.rsplit(".", 1)[-1] if "." in os.path.basename(path) else "other"
    return {"env": "sh", "sh": "sh", "bash": "sh", "py": "py", "yaml": "yaml", "yml": "yaml",
            "toml": "toml", "ini": "ini", "cfg": "ini", "properties": "props", "js": "js", "ts": "js",
            "go": "go", "java": "java", "kt": "java", "tf": "tf", "tfvars": "tf", "hcl": "tf",
            "xml": "xml", "rb": "rb", "php": "php"}.get(ext, "other")


FILLER_COMMENTS = ["# settings for the staging environment", "# rotated by the platform team",
                   "# do not commit real values here", "# see docs/setup.md", "# integration credentials",
                   "# TODO: move to the secret store", "# local development only"]


def filler_block(f, kind, n):
    pool = FILLER[kind]
    for _ in range(n):
        f.add(R.choice(pool))


FILLER = {
    "sh": ["set -euo pipefail", "cd \"$(dirname \"$0\")\"", "echo \"deploying $SERVICE\"", "make build",
           "if [ -z \"$REGION\" ]; then REGION=eu-west-1; fi", "docker compose up -d", "./gradlew test"],
    "env": ["APP_ENV=production", "LOG_LEVEL=info", "PORT=8080", "DATABASE_HOST=db.internal", "FEATURE_FLAGS=search,export",
            "REDIS_URL=redis://cache:6379/0", "TZ=Europe/Vienna"],
    "py": ["import os", "import logging", "log = logging.getLogger(__name__)", "TIMEOUT = 30", "def main():",
           "    return 0", "if __name__ == \"__main__\":", "    main()"],
    "js": ["'use strict';", "const express = require('express');", "const app = express();", "app.listen(3000);",
           "module.exports = { timeout: 5000 };", "export default config;"],
    "yaml": ["replicaCount: 2", "image:", "  pullPolicy: IfNotPresent", "resources: {}", "nodeSelector: {}",
             "service:", "  type: ClusterIP", "  port: 80"],
}


# ------------------------------------------------------------------------------------------
# Contexts. Each function writes one or more files.

def ctx_env():
    for i in range(4):
        f = kv_file("config/app%d.env" % i if i else ".env", lambda k, v: "%s=%s" % (k, v),
                    "# environment for docker compose", pick_providers(SINGLE + ["aws", "twilio"], 8))
        filler_block(f, "env", 4)
    f = kv_file("deploy/.env.production", lambda k, v: '%s="%s"' % (k, v), "APP_ENV=production",
                pick_providers(SINGLE + ["aws"], 6))


def ctx_shell():
    for i in range(3):
        f = new_file("scripts/deploy%d.sh" % i)
        f.add("#!/usr/bin/env bash")
        filler_block(f, "sh", 2)
        for prov in pick_providers(SINGLE + ["aws"], 6):
            if prov in PAIRS:
                _, ident, secret = pair(prov)
                f.token("export AWS_ACCESS_KEY_ID=%s" % ident, prov, "pair")
                f.token("export AWS_SECRET_ACCESS_KEY='%s'" % secret, prov, "pair")
                continue
            kind, value = real(prov)
            style = R.randrange(3)
            if style == 1 and prov in KEYED:
                style = 0
            if style == 0:
                f.token("export %s=%s" % (env_name(prov), value), prov, kind)
            elif style == 1:
                f.token("curl -sf -H \"Authorization: Bearer %s\" https://api.example.com/v1/status" % value, prov, kind)
            else:
                f.token("%s=\"${%s:-%s}\"" % (env_name(prov), env_name(prov), value), prov, kind)
            for variant, v in negs(prov):
                f.neg("export %s=%s" % (env_name(prov), v), prov, variant)
        filler_block(f, "sh", 3)


def ctx_python():
    for i in range(3):
        f = new_file("app/settings_%d.py" % i)
        filler_block(f, "py", 2)
        for prov in pick_providers(SINGLE, 6):
            kind, value = real(prov)
            style = R.randrange(3)
            if style == 0:
                f.token("%s = os.environ.get(\"%s\", \"%s\")" % (env_name(prov), env_name(prov), value), prov, kind)
            elif style == 1:
                f.token("client = Client(api_key='%s')" % value, prov, kind)
            else:
                f.token("    \"%s\": \"%s\"," % (env_name(prov).lower(), value), prov, kind)
            for variant, v in negs(prov):
                f.neg("%s = \"%s\"  # replace me" % (env_name(prov), v), prov, variant)
        filler_block(f, "py", 2)


def ctx_js():
    for i, ext in enumerate(["js", "ts", "mjs"]):
        f = new_file("web/src/config%d.%s" % (i, ext))
        filler_block(f, "js", 2)
        for prov in pick_providers(SINGLE, 6):
            kind, value = real(prov)
            if R.randrange(2):
                f.token("const %s = '%s';" % (env_name(prov).lower(), value), prov, kind)
            else:
                f.token("  %s: process.env.%s || \"%s\"," % (env_name(prov).lower(), env_name(prov), value), prov, kind)
            for variant, v in negs(prov):
                f.neg("  // e.g. %s=%s" % (env_name(prov), v), prov, variant)
        filler_block(f, "js", 2)


def ctx_minified():
    f = new_file("web/dist/app.min.js")
    for prov in pick_providers(BARE, 10):
        kind, value = real(prov)
        pre = ";".join("var %s=function(%s){return %s.%s}" % (rand("abcdefghijklmnopqrstuvwxyz", 1), "e", "e", rand("abcdefghijklmnopqrstuvwxyz", 2)) for _ in range(30))
        f.token(pre + ';var cfg={key:"%s",t:3e4};' % value + pre, prov, kind)
    # Minified identifiers and hashes only: no token.
    f.add("!function(e){var t={};function n(r){if(t[r])return t[r].exports}n.m=e,n.c=t,n.p=\"/static/\",n.h=\"%s\"}([]);" % rand(HEX, 20), "clean", "hash:minified")
    f.add("var aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789=0,zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210=1;", "clean", "hash:minified")


def ctx_json():
    f = new_file("package.json")
    f.add('{\n  "name": "billing-ui",\n  "version": "1.4.2",\n  "private": true,\n  "scripts": {')
    kind, value = real("npm")
    f.token('    "publish:ci": "npm publish --//registry.npmjs.org/:_authToken=%s",' % value, "npm", kind)
    f.neg('    "publish": "npm publish --//registry.npmjs.org/:_authToken=${NPM_TOKEN}",', "npm", "template")
    f.add('    "build": "vite build"\n  },\n  "dependencies": {\n    "react": "^18.2.0"\n  }\n}')
    for i in range(3):
        f = new_file("config/secrets%d.json" % i)
        f.add("{")
        provs = pick_providers(SINGLE, 6)
        for prov in provs:
            kind, value = real(prov)
            if "/" in value and R.randrange(2):
                # PHP's json_encode writes `/` as `\/`.
                f.token('  "%s": "%s",' % (env_name(prov).lower(), value.replace("/", "\\/")), prov, kind)
            else:
                f.token('  "%s": "%s",' % (env_name(prov).lower(), value), prov, kind)
            for variant, v in negs(prov, 1):
                f.neg('  "%s_example": "%s",' % (env_name(prov).lower(), v), prov, variant)
        f.add('  "timeout": 30\n}')


def ctx_service_account():
    for i in range(3):
        f = new_file("gcp/service-account-%d.json" % i)
        key = "\\n".join(private_key("pkcs8")) + "\\n"
        project = "proj-" + rand("abcdefghijklmnopqrstuvwxyz", 6)
        f.add('{\n  "type": "service_account",\n  "project_id": "%s",' % project)
        f.add('  "private_key_id": "%s",' % rand(HEX, 40), "clean", "gcp:private-key-id")
        f.token('  "private_key": "%s",' % key, "gcp", "service-account")
        f.add('  "client_email": "deployer@%s.iam.gserviceaccount.com",' % project, "clean", "gcp:client-email")
        f.add('  "client_id": "%s",' % rand(DIGITS, 21))
        f.add('  "auth_uri": "https://accounts.google.com/o/oauth2/auth",\n  "token_uri": "https://oauth2.googleapis.com/token"\n}')
    f = new_file("gcp/service-account.example.json")
    f.add('{\n  "type": "service_account",\n  "project_id": "my-project",')
    f.neg('  "private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n",', "gcp", "placeholder")
    f.neg('  "private_key": "<your private key>",', "gcp", "template")
    f.add('  "client_email": "name@my-project.iam.gserviceaccount.com"\n}')


def ctx_k8s_secret():
    for i in range(3):
        f = new_file("k8s/secret-%d.yaml" % i)
        f.add("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-credentials-%d\n  namespace: prod\ntype: Opaque\ndata:" % i)
        for prov in pick_providers(SINGLE + ["aws"], 6):
            if prov in PAIRS:
                _, ident, secret = pair(prov)
                f.token("  aws_access_key_id: %s" % base64.b64encode(ident.encode()).decode(), prov, "pair-base64")
                f.token("  aws_secret_access_key: %s" % base64.b64encode(secret.encode()).decode(), prov, "pair-base64")
                continue
            kind, value = real(prov)
            f.token("  %s: %s" % (env_name(prov).lower(), base64.b64encode(value.encode()).decode()), prov, kind + "-base64")
            for variant, v in negs(prov, 1):
                f.neg("  %s_sample: %s" % (env_name(prov).lower(), base64.b64encode(v.encode()).decode()), prov, variant + "-base64")
    f = new_file("k8s/secret-stringdata.yaml")
    f.add("apiVersion: v1\nkind: Secret\nmetadata:\n  name: tokens\nstringData:")
    for prov in pick_providers(SINGLE, 7):
        kind, value = real(prov)
        f.token("  %s: \"%s\"" % (env_name(prov), value), prov, kind)
        for variant, v in negs(prov, 1):
            f.neg("  %s_DEFAULT: \"%s\"" % (env_name(prov), v), prov, variant)
    # A service-account key file inside a Secret.
    f = new_file("k8s/gcp-key-secret.yaml")
    key = "\\n".join(private_key("pkcs8")) + "\\n"
    sa = '{"type": "service_account", "project_id": "proj-x", "private_key_id": "%s", "private_key": "%s", "client_email": "x@proj-x.iam.gserviceaccount.com"}' % (rand(HEX, 40), key)
    f.add("apiVersion: v1\nkind: Secret\nmetadata:\n  name: gcp-key\ndata:")
    f.token("  key.json: %s" % base64.b64encode(sa.encode()).decode(), "gcp", "service-account-base64")


def ctx_helm():
    for i in range(2):
        f = new_file("charts/api/values-%s.yaml" % ["prod", "staging"][i])
        filler_block(f, "yaml", 4)
        f.add("secrets:")
        for prov in pick_providers(SINGLE, 6):
            kind, value = real(prov)
            f.token("  %s: %s" % (env_name(prov).lower(), value), prov, kind)
            for variant, v in negs(prov, 1):
                f.neg("  %s: %s" % (env_name(prov).lower() + "_fallback", json.dumps(v)), prov, variant)
        f.add("env:")
        prov = R.choice(SINGLE)
        f.add("  - name: %s" % env_name(prov))
        kind, value = real(prov)
        f.token("    value: %s" % json.dumps(value), prov, kind)
        f.add("  - name: %s" % env_name(prov))
        f.neg("    value: {{ .Values.secrets.token | quote }}", prov, "template")


def ctx_actions():
    for i in range(2):
        f = new_file(".github/workflows/release%d.yml" % i)
        f.add("name: release\non:\n  push:\n    tags: ['v*']\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4")
        f.add("      - run: npm publish\n        env:")
        f.neg("          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}", "npm", "template")
        f.neg("          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}", "github", "template")
        f.add("      - name: notify\n        env:")
        for prov in pick_providers(SINGLE, 5):
            kind, value = real(prov)
            f.token("          %s: %s" % (env_name(prov), value), prov, kind)
        f.add("        run: ./scripts/notify.sh")
        f.add("      - uses: docker/login-action@v3\n        with:\n          username: ci-bot")
        f.neg("          password: ${{ secrets.DOCKERHUB_TOKEN }}", "dockerhub", "template")
    f = new_file(".gitlab-ci.yml")
    f.add("stages: [test, deploy]\nvariables:")
    for prov in pick_providers(SINGLE, 5):
        kind, value = real(prov)
        f.token("  %s: \"%s\"" % (env_name(prov), value), prov, kind)
    f.neg("  GITLAB_TOKEN: $CI_JOB_TOKEN", "gitlab", "template")
    f.add("deploy:\n  stage: deploy\n  script:\n    - ./deploy.sh")


def ctx_toml():
    for i in range(2):
        kv_file("config/app%d.toml" % i, lambda k, v: '%s = "%s"' % (k.lower(), v), "[service]\nname = \"ingest\"\n\n[credentials]", pick_providers(SINGLE, 6))
    f = new_file("pyproject.toml")
    f.add("[project]\nname = \"tool\"\nversion = \"0.3.0\"\n\n[tool.poetry.http-basic.private]\nusername = \"__token__\"")
    kind, value = real("pypi")
    f.token("password = \"%s\"" % value, "pypi", kind)


def ctx_terraform():
    for i in range(2):
        f = new_file("infra/main%d.tf" % i)
        f.add("terraform {\n  required_version = \">= 1.5\"\n}\n")
        _, ident, secret = pair("aws")
        f.add("provider \"aws\" {\n  region     = \"eu-central-1\"")
        f.token("  access_key = \"%s\"" % ident, "aws", "pair")
        f.token("  secret_key = \"%s\"" % secret, "aws", "pair")
        f.add("}\n")
        for prov in pick_providers(SINGLE, 5):
            kind, value = real(prov)
            f.add("variable \"%s\" {\n  type      = string\n  sensitive = true" % env_name(prov).lower())
            f.token("  default   = \"%s\"" % value, prov, kind)
            f.add("}")
            for variant, v in negs(prov, 1):
                f.neg("# default = \"%s\"" % v, prov, variant)
        f.add("resource \"kubernetes_secret\" \"tls\" {\n  data = {\n    \"tls.key\" = <<EOT")
        lines = private_key(R.choice(["rsa", "ec"]))
        f.token(lines[0], "private-key", "pem-heredoc")
        for l in lines[1:]:
            f.add(l, "clean", "private-key:body")
        f.add("EOT\n  }\n}")
    f = new_file("infra/terraform.tfvars")
    f.add("region = \"eu-west-1\"")
    for prov in pick_providers(SINGLE, 5):
        kind, value = real(prov)
        f.token("%s = \"%s\"" % (env_name(prov).lower(), value), prov, kind)
    f = new_file("infra/.terraformrc")
    f.add("credentials \"app.terraform.io\" {")
    kind, value = real("terraform")
    f.token("  token = \"%s\"" % value, "terraform", kind)
    f.add("}")


def ctx_properties():
    for i in range(2):
        kv_file("src/main/resources/application-%s.properties" % ["prod", "dev"][i],
                lambda k, v: "%s=%s" % (k.lower().replace("_", "."), v), "spring.application.name=orders\nserver.port=8080",
                pick_providers(SINGLE + ["aws", "twilio"], 7))


def ctx_java():
    f = new_file("src/main/java/com/acme/Clients.java")
    f.add("package com.acme;\n\npublic final class Clients {")
    for prov in pick_providers(SINGLE, 6):
        kind, value = real(prov)
        f.token("    private static final String %s = \"%s\";" % (env_name(prov), value), prov, kind)
        for variant, v in negs(prov, 1):
            f.neg("    // sample: \"%s\"" % v, prov, variant)
    f.add("    private Clients() {}\n}")


def ctx_xml():
    f = new_file("config/settings.xml")
    f.add("<settings>\n  <servers>\n    <server>\n      <id>github</id>\n      <username>ci</username>")
    kind, value = real("github")
    f.token("      <password>%s</password>" % value, "github", kind)
    f.add("    </server>\n  </servers>\n</settings>")
    f = new_file("config/web.config")
    f.add("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <connectionStrings>")
    kind, value = real("azure")
    f.token("    <add name=\"Storage\" connectionString=\"%s\" />" % value, "azure", kind)
    f.neg("    <add name=\"Local\" connectionString=\"UseDevelopmentStorage=true\" />", "azure", "emulator")
    f.add("  </connectionStrings>\n  <appSettings>")
    for prov in pick_providers(SINGLE, 5):
        kind, value = real(prov)
        f.token("    <add key=\"%s\" value=\"%s\" />" % (env_name(prov), value), prov, kind)
        for variant, v in negs(prov, 1):
            f.neg("    <add key=\"%s_Sample\" value=\"%s\" />" % (env_name(prov), v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")), prov, variant)
    f.add("  </appSettings>\n</configuration>")


def ctx_dockerfile():
    for i in range(2):
        f = new_file("docker/Dockerfile" + ("" if i == 0 else ".worker"))
        f.add("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .")
        for prov in pick_providers(SINGLE, 4):
            kind, value = real(prov)
            f.token("ENV %s=%s" % (env_name(prov), value), prov, kind)
        f.neg("ARG NPM_TOKEN", "npm", "template")
        f.neg("RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc", "npm", "template")
        f.add("RUN pip install -r requirements.txt\nCMD [\"python\", \"-m\", \"app\"]")


def ctx_docker_config():
    f = new_file("ci/docker/config.json")
    f.add('{\n  "auths": {')
    kind, value = real("dockerhub")
    f.token('    "https://index.docker.io/v1/": { "auth": "%s" },' % base64.b64encode(("ci-bot:" + value).encode()).decode(), "dockerhub", "dckr_pat-basic-auth")
    kind, value = real("github")
    f.token('    "ghcr.io": { "auth": "%s" },' % base64.b64encode(("ci-bot:" + value).encode()).decode(), "github", kind + "-basic-auth")
    kind, value = real("gitlab")
    f.token('    "registry.gitlab.com": { "auth": "%s" }' % base64.b64encode(("ci-bot:" + value).encode()).decode(), "gitlab", kind + "-basic-auth")
    f.add('  }\n}')
    f = new_file("docker-compose.yml")
    f.add("services:\n  api:\n    image: acme/api:1.2\n    environment:")
    for prov in pick_providers(SINGLE, 5):
        kind, value = real(prov)
        f.token("      - %s=%s" % (env_name(prov), value), prov, kind)
        for variant, v in negs(prov, 1):
            f.neg("      # - %s=%s" % (env_name(prov), v), prov, variant)
    f.add("    ports:\n      - \"8080:8080\"")


def ctx_npmrc():
    for i in range(2):
        f = new_file(".npmrc" if i == 0 else "packages/ui/.npmrc")
        f.add("registry=https://registry.npmjs.org/\nalways-auth=true")
        kind, value = real("npm")
        f.token("//registry.npmjs.org/:_authToken=%s" % value, "npm", kind)
        kind, value = real("github")
        f.token("//npm.pkg.github.com/:_authToken=%s" % value, "github", kind)
        f.neg("//registry.example.com/:_authToken=${NPM_TOKEN}", "npm", "template")
        for variant, v in negs("npm", 2):
            f.neg("# //registry.npmjs.org/:_authToken=%s" % v, "npm", variant)


def ctx_pypirc():
    f = new_file("release/.pypirc")
    f.add("[distutils]\nindex-servers =\n    pypi\n    testpypi\n\n[pypi]\nusername = __token__")
    kind, value = real("pypi")
    f.token("password = %s" % value, "pypi", kind)
    f.add("\n[testpypi]\nusername = __token__")
    for variant, v in negs("pypi", 3):
        f.neg("# password = %s" % v, "pypi", variant)


def ctx_aws_credentials():
    for i in range(2):
        f = new_file("home/.aws/credentials" if i == 0 else "ops/aws-credentials.ini")
        for profile in ["default", "ci", "prod"]:
            f.add("[%s]" % profile)
            _, ident, secret = pair("aws")
            f.token("aws_access_key_id = %s" % ident, "aws", "pair")
            f.token("aws_secret_access_key = %s" % secret, "aws", "pair")
            f.add("region = eu-west-1\n")
        f.add("[docs-example]")
        f.neg("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "aws", "published-sample")
        f.neg("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws", "published-sample")
        f.add("[readonly]")
        f.neg("aws_access_key_id = %s" % aws()[0], "aws", "key-id-alone")
        f.neg("aws_secret_access_key = %s" % rand(HEX, 40), "aws", "hex-sha1")


def ctx_csv():
    f = new_file("exports/iam_credentials.csv")
    f.add("User name,Password,Access key ID,Secret access key,Console login link")
    for _ in range(3):
        _, ident, secret = pair("aws")
        f.token("deploy-%s,,%s,%s,https://123456789012.signin.aws.amazon.com/console" % (rand("abcdefghijklmnopqrstuvwxyz", 4), ident, secret), "aws", "pair")
    f.neg("example,,AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,https://example.signin.aws.amazon.com/console", "aws", "published-sample")
    f = new_file("exports/api_keys.csv")
    f.add("service,owner,key,created")
    for prov in pick_providers(BARE, 8):
        kind, value = real(prov)
        f.token("%s,team-%s,%s,2026-0%d-1%d" % (prov, rand("abcdefghijklmnopqrstuvwxyz", 3), value, R.randrange(1, 10), R.randrange(10)), prov, kind)
    for h, v in hash_values():
        f.add("artifact,team-build,%s,2026-01-01" % v, "clean", "hash:" + h)


def ctx_markdown():
    f = new_file("docs/setup.md")
    f.add("# Setting up credentials\n\nCreate a token in each service and put it in `.env`:\n\n```sh")
    for prov in ALL:
        for variant, v in negs(prov, 2):
            f.neg("export %s=%s" % (R.choice(PROVIDERS[prov]["envs"]), v), prov, variant)
    f.add("```\n\nTokens start with `ghp_` (classic) or `github_pat_` (fine-grained); npm tokens with `npm_`.")
    f.neg("GitHub tokens match `ghp_[A-Za-z0-9]{36}`; GitLab's `glpat-[0-9A-Za-z_-]{20}`.", "github", "regex")
    f.neg("Slack bot tokens look like `xoxb-<team>-<bot>-<secret>`; AWS keys like `AKIA...`.", "slack", "prose")
    f = new_file("docs/troubleshooting.md")
    f.add("# Troubleshooting\n\nWhen the call fails with 401, check the token the job used. Example from last week's incident:\n\n```")
    for prov in pick_providers(BARE, 5):
        kind, value = real(prov)
        f.token("$ curl -H 'Authorization: Bearer %s' https://api.example.com/v2/me" % value, prov, kind)
    f.add("```\n\nThe token above has since been revoked.")


def ctx_logs():
    for i in range(2):
        f = new_file("logs/app-2026-11-%02d.log" % (20 + i))
        for prov in pick_providers(BARE, 7):
            kind, value = real(prov)
            ts = "2026-11-%02dT%02d:%02d:%02d.%03dZ" % (20 + i, R.randrange(24), R.randrange(60), R.randrange(60), R.randrange(1000))
            f.add("%s INFO  request started path=/v1/sync" % ts)
            if R.randrange(2):
                f.token("%s DEBUG outgoing headers={'Authorization': 'Bearer %s', 'Accept': 'application/json'}" % (ts, value), prov, kind)
            else:
                f.token("%s WARN  retrying with token=%s (attempt 2)" % (ts, value), prov, kind)
            for variant, v in negs(prov, 1):
                f.neg("%s DEBUG configured token=%s" % (ts, v), prov, variant)
        for h, v in hash_values():
            f.add("2026-11-20T10:00:00.000Z INFO  artifact %s verified" % v, "clean", "hash:" + h)


def ctx_urls():
    f = new_file("logs/access.log")
    for prov in pick_providers(BARE, 8):
        kind, value = real(prov)
        ip = "10.%d.%d.%d" % (R.randrange(256), R.randrange(256), R.randrange(256))
        if R.randrange(2):
            f.token('%s - - [21/Nov/2026:10:12:01 +0000] "GET /api/export?format=csv&api_key=%s HTTP/1.1" 200 512' % (ip, urllib.parse.quote(value, safe="")), prov, kind + "-url")
        else:
            f.token('%s - - [21/Nov/2026:10:12:02 +0000] "GET /callback?redirect=%s HTTP/1.1" 302 0' % (ip, urllib.parse.quote("https://app.example.com/login?token=" + value, safe="")), prov, kind + "-url-twice")
        for variant, v in negs(prov, 1):
            f.neg('%s - - [21/Nov/2026:10:12:03 +0000] "GET /api/export?api_key=%s HTTP/1.1" 401 0' % (ip, urllib.parse.quote(v, safe="")), prov, variant + "-url")
    f = new_file("notes/links.txt")
    f.token("alerts go to %s" % slack_webhook(), "slack", "webhook")
    f.token("forward=%s" % urllib.parse.quote(slack_webhook(), safe=""), "slack", "webhook-url")
    f.neg("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "slack", "published-sample")


def ctx_go():
    f = new_file("internal/clients/clients.go")
    f.add("package clients\n\nimport \"os\"\n\nconst (")
    for prov in pick_providers(BARE, 6):
        kind, value = real(prov)
        f.token("\tdefault%s = \"%s\"" % (prov.title().replace("-", ""), value), prov, kind)
        for variant, v in negs(prov, 1):
            f.neg("\t// %s = \"%s\"" % (env_name(prov), v), prov, variant)
    f.add(")\n\nfunc token() string { return os.Getenv(\"TOKEN\") }")
    f = new_file("go.sum")
    for _ in range(12):
        mod = "github.com/%s/%s v1.%d.%d" % (rand("abcdefghijklmnopqrstuvwxyz", 6), rand("abcdefghijklmnopqrstuvwxyz", 5), R.randrange(20), R.randrange(20))
        f.add("%s h1:%s" % (mod, base64.b64encode(bytes(R.randrange(256) for _ in range(32))).decode()), "clean", "hash:go-sum")
        f.add("%s/go.mod h1:%s" % (mod, base64.b64encode(bytes(R.randrange(256) for _ in range(32))).decode()), "clean", "hash:go-sum")


def ctx_lockfiles():
    f = new_file("package-lock.json")
    f.add('{\n  "name": "billing-ui",\n  "lockfileVersion": 3,\n  "packages": {')
    for _ in range(10):
        name = rand("abcdefghijklmnopqrstuvwxyz", 7)
        f.add('    "node_modules/%s": {\n      "version": "2.%d.%d",\n      "resolved": "https://registry.npmjs.org/%s/-/%s-2.1.0.tgz",' % (name, R.randrange(9), R.randrange(9), name, name))
        f.add('      "integrity": "sha512-%s"' % base64.b64encode(bytes(R.randrange(256) for _ in range(64))).decode(), "clean", "hash:integrity")
        f.add("    },")
    f.add("  }\n}")
    f = new_file("yarn.lock")
    for _ in range(8):
        name = rand("abcdefghijklmnopqrstuvwxyz", 6)
        f.add('%s@^1.0.0:\n  version "1.0.%d"\n  resolved "https://registry.yarnpkg.com/%s/-/%s-1.0.0.tgz#%s"' % (name, R.randrange(9), name, name, rand(HEX, 40)))
        f.add('  integrity sha1-%s' % base64.b64encode(bytes(R.randrange(256) for _ in range(20))).decode(), "clean", "hash:integrity")


def ctx_ids():
    f = new_file("db/seed.sql")
    f.add("INSERT INTO tenants (id, name) VALUES")
    for _ in range(6):
        f.add("  ('%s', 'tenant-%s')," % (uuid4(), rand("abcdefghijklmnopqrstuvwxyz", 5)), "clean", "hash:uuid")
    f.add("INSERT INTO integrations (tenant, provider, token) VALUES")
    for prov in pick_providers(SINGLE, 5):
        kind, value = real(prov)
        f.token("  ('%s', '%s', '%s')," % (uuid4(), prov, value), prov, kind)
    f = new_file("CHANGELOG.git.txt")
    for _ in range(10):
        f.add("commit %s" % rand(HEX, 40), "clean", "hash:git-sha1")
        f.add("Merge: %s %s" % (rand(HEX, 7), rand(HEX, 7)), "clean", "hash:git-sha1")
    f = new_file("web/src/assets/logo.ts")
    for _ in range(4):
        f.add("export const logo = '%s';" % image_data(), "clean", "hash:image-base64")


def ctx_keys():
    for kind in ["rsa", "pkcs8", "ec", "openssh"]:
        f = new_file("keys/id_%s%s" % (kind, "" if kind != "openssh" else "_ed25519"))
        lines = private_key(kind)
        f.token(lines[0], "private-key", kind)
        for l in lines[1:]:
            f.add(l, "clean", "private-key:body")
    f = new_file("keys/signing-key.asc")
    lines = private_key("pgp")
    f.token(lines[0], "private-key", "pgp")
    for l in lines[1:]:
        f.add(l, "clean", "private-key:body")
    for kind, path in [("ssh-rsa", "keys/id_rsa.pub"), ("pem-public", "keys/public.pem"),
                       ("certificate", "keys/server.crt"), ("pgp-public", "keys/release.pub.asc")]:
        f = new_file(path)
        for i, l in enumerate(public_key(kind)):
            f.add(l, "clean", "private-key:public-" + kind if i == 0 else "private-key:public-body")
    f = new_file("docs/keys.md")
    f.add("# Deploy keys\n\nPaste the key into the CI variable `DEPLOY_KEY`:\n\n```")
    f.neg("-----BEGIN RSA PRIVATE KEY-----", "private-key", "placeholder")
    f.neg("...", "private-key", "placeholder")
    f.neg("-----END RSA PRIVATE KEY-----", "private-key", "placeholder")
    f.add("```")
    f.neg("The file must start with `-----BEGIN OPENSSH PRIVATE KEY-----`.", "private-key", "prose")
    # Keys inside other files.
    f = new_file("config/deploy.yaml")
    f.add("deploy:\n  host: build.internal\n  user: deploy\n  key: |")
    lines = private_key("openssh")
    f.token("    " + lines[0], "private-key", "openssh-yaml")
    for l in lines[1:]:
        f.add("    " + l, "clean", "private-key:body")
    f = new_file("config/jwt.env")
    f.token("JWT_PRIVATE_KEY=\"%s\"" % "\\n".join(private_key("rsa")), "private-key", "rsa-escaped")
    f.neg("JWT_PUBLIC_KEY=\"%s\"" % "\\n".join(public_key("pem-public")), "private-key", "public-escaped")


def ctx_misc():
    f = new_file("config/application.rb")
    f.add("Rails.application.configure do")
    for prov in pick_providers(SINGLE, 4):
        kind, value = real(prov)
        f.token("  config.x.%s = '%s'" % (env_name(prov).lower(), value), prov, kind)
    f.add("end")
    f = new_file("config/services.php")
    f.add("<?php\n\nreturn [")
    for prov in pick_providers(SINGLE, 4):
        kind, value = real(prov)
        f.token("    '%s' => env('%s', '%s')," % (env_name(prov).lower(), env_name(prov), value), prov, kind)
    f.add("];")
    f = new_file("api/requests.http")
    for prov in pick_providers(BARE, 4):
        kind, value = real(prov)
        f.add("### call %s\nGET https://api.example.com/v1/me" % prov)
        f.token("Authorization: Bearer %s" % value, prov, kind)
        f.add("")
    f = new_file("notebooks/explore.ipynb")
    f.add('{\n "cells": [\n  {\n   "cell_type": "code",\n   "source": [')
    for prov in pick_providers(SINGLE, 4):
        kind, value = real(prov)
        f.token('    "%s = \\"%s\\"\\n",' % (env_name(prov).lower(), value), prov, kind)
    f.add('    "print(1)"\n   ]\n  }\n ],\n "nbformat": 4\n}')
    f = new_file("config/vault.hcl")
    f.add("vault {\n  address = \"https://vault.internal:8200\"")
    kind, value = real("vault")
    f.token("  token   = \"%s\"" % value, "vault", kind)
    f.add("}")
    f = new_file("home/.netrc")
    kind, value = real("github")
    f.token("machine api.github.com login ci password %s" % value, "github", kind)
    kind, value = real("gitlab")
    f.token("machine gitlab.com login ci password %s" % value, "gitlab", kind)
    f = new_file("config/app.ini")
    f.add("[server]\nport = 8080\n\n[integrations]")
    for prov in pick_providers(SINGLE + ["twilio"], 5):
        if prov in PAIRS:
            _, ident, secret = pair(prov)
            f.token("api_key_sid = %s" % ident, prov, "pair")
            f.token("api_key_secret = %s" % secret, prov, "pair")
            continue
        kind, value = real(prov)
        f.token("%s = %s" % (env_name(prov).lower(), value), prov, kind)
    f = new_file("mobile/Config.kt")
    f.add("object Config {")
    for prov in pick_providers(SINGLE, 3):
        kind, value = real(prov)
        f.token("    const val %s = \"%s\"" % (env_name(prov), value), prov, kind)
    f.add("}")


CATALOG_FORMATS = [
    ("env", lambda k, v: "%s=%s" % (k, v)),
    ("yaml", lambda k, v: "%s: %s" % (k.lower(), json.dumps(v))),
    ("json", lambda k, v: '  "%s": %s,' % (k.lower(), json.dumps(v))),
    ("toml", lambda k, v: '%s = %s' % (k.lower(), json.dumps(v))),
    ("py", lambda k, v: '%s = "%s"' % (k, v)),
    ("sh", lambda k, v: "export %s='%s'" % (k, v)),
    ("properties", lambda k, v: "%s=%s" % (k.lower().replace("_", "."), v)),
    ("ts", lambda k, v: "export const %s = `%s`;" % (k, v)),
]


def ctx_catalog():
    """Per provider: a file with three tokens and every near miss the provider has."""
    for n, prov in enumerate(PROVIDERS):
        ext, fmt = CATALOG_FORMATS[n % len(CATALOG_FORMATS)]
        f = new_file("services/%s/credentials.%s" % (prov, ext))
        f.add(R.choice(FILLER_COMMENTS).replace("#", COMMENT[fmt_kind(f.path)]))
        for _ in range(3):
            if prov in PAIRS:
                _, ident, secret = pair(prov)
                k1, k2 = PAIR_KEYS[prov]
                f.token(fmt(k1, ident), prov, "pair")
                f.token(fmt(k2, secret), prov, "pair")
            else:
                kind, value = real(prov)
                f.token(fmt(env_name(prov), value), prov, kind)
        for variant, value in PROVIDERS[prov]["negatives"]():
            f.neg(fmt(env_name(prov) + "_SAMPLE", value), prov, variant)


def ctx_gcp_more():
    key = "\\n".join(private_key("pkcs8")) + "\\n"
    sa = '{"type":"service_account","project_id":"proj-y","private_key_id":"%s","private_key":"%s","client_email":"ci@proj-y.iam.gserviceaccount.com"}' % (rand(HEX, 40), key)
    f = new_file("ci/gcp.env")
    f.add("GOOGLE_CLOUD_PROJECT=proj-y")
    f.token("GOOGLE_CREDENTIALS_JSON='%s'" % sa, "gcp", "service-account-inline")
    f.neg("GOOGLE_APPLICATION_CREDENTIALS=/secrets/key.json", "gcp", "path")
    f = new_file(".github/workflows/gcp.yml")
    key = "\\n".join(private_key("pkcs8")) + "\\n"
    sa = '{"type":"service_account","project_id":"proj-z","private_key_id":"%s","private_key":"%s","client_email":"gh@proj-z.iam.gserviceaccount.com"}' % (rand(HEX, 40), key)
    f.add("on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: google-github-actions/auth@v2\n        with:")
    f.token("          credentials_json: %s" % base64.b64encode(sa.encode()).decode(), "gcp", "service-account-base64")
    f.neg("          # credentials_json: ${{ secrets.GCP_SA_KEY }}", "gcp", "template")


CONTEXTS = [ctx_catalog, ctx_gcp_more, ctx_env, ctx_shell, ctx_python, ctx_js, ctx_minified, ctx_json, ctx_service_account,
            ctx_k8s_secret, ctx_helm, ctx_actions, ctx_toml, ctx_terraform, ctx_properties, ctx_java,
            ctx_xml, ctx_dockerfile, ctx_docker_config, ctx_npmrc, ctx_pypirc, ctx_aws_credentials,
            ctx_csv, ctx_markdown, ctx_logs, ctx_urls, ctx_go, ctx_lockfiles, ctx_ids, ctx_keys, ctx_misc]


def main():
    for ctx in CONTEXTS:
        ctx()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    labels = []
    seen = set()
    for f in FILES:
        assert f.path not in seen, f.path
        seen.add(f.path)
        path = os.path.join(OUT, "files", f.path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="\n") as out:
            out.write("\n".join(t for t, _, _ in f.lines) + "\n")
        for n, (_, label, case) in enumerate(f.lines, 1):
            labels.append({"file": f.path, "line": n, "label": label, "case": case})
    with open(os.path.join(OUT, "labels.json"), "w") as out:
        out.write("[\n" + ",\n".join(json.dumps(x) for x in labels) + "\n]\n")
    with open(os.path.join(OUT, "secrets.json"), "w") as out:
        out.write("[\n" + ",\n".join(json.dumps(x) for x in SECRETS) + "\n]\n")
    tokens = [x for x in labels if x["label"] == "token"]
    provs = sorted({x["case"].split(":")[0] for x in tokens})
    print("%d files, %d labelled lines, %d token lines, %d near misses, %d providers"
          % (len(FILES), len(labels), len(tokens),
             sum(1 for x in labels if x["label"] == "clean" and x["case"] != "filler"), len(provs)),
          file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Cross-encoding sweep: the layout sweep's expected positives, each re-written in the
encodings a secret meets on its way through tooling (recall; with --negatives, precision).

    python3 benches/layouts/cross.py target/release/tokenguard [--no-gen] [--negatives]

--negatives: the sweep's negative files (placeholders, the rules' negatives) in the same
encodings too, each encoding scanned once: files with any finding are false alarms.

Runs gen.py first (unless --no-gen, which reuses $LAYOUTS_DIR and the files already under
$CROSS_DIR), takes every file of $LAYOUTS_DIR/manifest.json (default /tmp/tokenguard-layouts)
with set 'pos' and expected true, and writes one copy per encoding to
$CROSS_DIR (default /tmp/tokenguard-cross)/<encoding>/<layout>/<file name>[.<wrapper ext>]:

  plain         the file unchanged (control)
  b64_k8s       a Kubernetes Secret whose data holds base64(file) on one line       (+.yaml)
  b64_block76   base64(file) wrapped at 76 characters, as the base64 CLI writes it (+.b64)
  json          {"content": "<the text as a JSON string>"}                          (+.json)
  json_in_json  {"payload": "<that JSON document as a JSON string>"}                (+.json)
  url           https://example.com/upload?body=<quote(text, safe='')>              (+.txt)
  html          <pre>html.escape(text, quote=True)</pre>                            (+.html)
  qp            an e-mail with a quoted-printable body (quopri.encodestring)        (+.eml)
  utf16le/be    the text in UTF-16 with a BOM                                  (same name)
  crlf          every line end as CRLF                                         (same name)

The wrappers keep the original name and add their extension (config.js -> config.js.json), so
the file kind stays visible. The Kubernetes data key is the layout's own file name (config.js),
not the generated one, which holds the rule id (a key like `aws-secret-access-key__0__...`
would hand keyed rules a context the file does not have).

Then runs `tokenguard scan --format json -q --no-baseline <CROSS_DIR>/<encoding>` once per
encoding (cwd CROSS_DIR, which is no git work tree and holds no .tokenguard.toml;
TOKENGUARD_CONFIG unset and XDG_CONFIG_HOME an empty folder, so no allowlist applies), maps
the findings back to files (a file counts as found when one of its manifest rules reports in
it, as in run.py) and prints per encoding: files expected, found, missed, and the misses that
the plain control finds (the encoding's own misses).

Leak check: every token of the rules' examples (and of their base64-decoded forms) is worked
out with the rule's regex (group `secret`, else `token`) or, for the structured and keyed
Dynatrace rules, their documented shape; the whole token and every 16-character slice of its
secret part must never occur in any stdout or stderr of the scans (nor in the JSON strings
after decoding). Only rule ids, layouts, file names and counts are printed.

Writes $CROSS_DIR/misses.json: {encoding: {count, own (not missed by plain), by_rule,
by_layout, by_kind, files: {rule: {layout: [file, ...]}}}}. Exits 1 when something leaked.
"""
import base64, collections, glob, html, json, os, quopri, re, shutil, subprocess, sys, tempfile, tomllib
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUTS = os.environ.get('LAYOUTS_DIR', '/tmp/tokenguard-layouts')
CROSS = os.environ.get('CROSS_DIR', '/tmp/tokenguard-cross')
RULES = os.path.join(HERE, '..', '..', 'rules')
WINDOW = 16  # length of the secret slices looked for in the output


# ---- encodings: (name, extension added to the file name, bytes -> bytes) -------------------
def text(b):
    return b.decode('utf-8')


def k8s_key(name):
    """The layout's own file name (after `<rule>__<case>__`), made a valid Secret data key."""
    return re.sub(r'[^-._a-zA-Z0-9]', '_', name.split('__')[-1]) or 'data'


def b64_k8s(b, name):
    return (f'apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n'
            f'  {k8s_key(name)}: {base64.b64encode(b).decode()}\n').encode()


def b64_block76(b, name):
    return base64.encodebytes(b)  # 76-character lines, each ending in \n, as base64(1) writes


def as_json(b, name):
    # ensure_ascii=False: non-ASCII stays as UTF-8 (as JSON.stringify / serde_json write it)
    return (json.dumps({'content': text(b)}, ensure_ascii=False) + '\n').encode()


def json_in_json(b, name):
    inner = json.dumps({'content': text(b)}, ensure_ascii=False)
    return (json.dumps({'payload': inner}, ensure_ascii=False) + '\n').encode()


def url(b, name):
    return f'https://example.com/upload?body={urllib.parse.quote(text(b), safe="")}\n'.encode()


def as_html(b, name):
    return f'<pre>{html.escape(text(b), quote=True)}</pre>\n'.encode()


def qp(b, name):
    head = ('From: ci@example.com\nTo: ops@example.com\nSubject: build output\nMIME-Version: 1.0\n'
            'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n')
    return head.encode() + quopri.encodestring(b)


def utf16(bom, codec):
    # a BOM already in the text (bom_crlf_env) is replaced by the UTF-16 one, not doubled
    return lambda b, name: bom + text(b).lstrip('\ufeff').encode(codec)


def crlf(b, name):
    return b.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


ENCODINGS = [
    ('plain', '', lambda b, name: b),
    ('b64_k8s', '.yaml', b64_k8s),
    ('b64_block76', '.b64', b64_block76),
    ('json', '.json', as_json),
    ('json_in_json', '.json', json_in_json),
    ('url', '.txt', url),
    ('html', '.html', as_html),
    ('qp', '.eml', qp),
    ('utf16le', '', utf16(b'\xff\xfe', 'utf-16-le')),
    ('utf16be', '', utf16(b'\xfe\xff', 'utf-16-be')),
    ('crlf', '', crlf),
]


# ---- secrets of the rules' examples, for the leak check ------------------------------------
DT_STRUCT = re.compile(r'dt0[A-Za-z]\d\d(?:\.|%2E)([A-Za-z0-9]{8,24})(?:\.|%2E)([A-Za-z0-9]{64})')
LEGACY = re.compile(r'(?<![A-Za-z0-9_])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])'
                    r'(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{21}(?![A-Za-z0-9_-])')
B64RUN = re.compile(r'[A-Za-z0-9+/]{16,}={0,2}')


def py_regex(rx):
    """A rule's regex in Python's syntax: `(?-u:X)` (bytewise) becomes `(?:X)`."""
    return re.compile(re.sub(r'\(\?-u:', '(?:', rx))


def secrets_of(rule, t):
    """(token, secret part) pairs found in an example text t by the rule's own pattern."""
    out = []
    if 'regex' in rule:
        for m in py_regex(rule['regex']).finditer(t):
            g = m.groupdict()
            tok = g.get('token') or m.group(0)
            out.append((tok, g.get('secret') or tok))
    elif rule.get('keyed'):
        out += [(m.group(0), m.group(0)) for m in LEGACY.finditer(t)]
    else:  # structured: prefix.id.secret
        out += [(m.group(0), m.group(2)) for m in DT_STRUCT.finditer(t)]
    return out


def load_secrets():
    rules = [r for f in sorted(glob.glob(os.path.join(RULES, '*.toml')))
             for r in tomllib.load(open(f, 'rb')).get('rules', [])]
    pairs = set()
    for r in rules:
        for e in r.get('examples', []):
            t = e['text'] if isinstance(e, dict) else e
            texts = [t, urllib.parse.unquote(t), t.replace('\\/', '/')]  # also URL- and JSON-unescaped
            for run in B64RUN.findall(t):  # the examples' base64 forms, decoded
                try:
                    texts.append(base64.b64decode(run + '=' * (-len(run) % 4)).decode())
                except Exception:
                    pass
            for x in texts:
                pairs.update(secrets_of(r, x))
            if isinstance(e, dict) and e.get('token'):  # the example's own token, split by the
                tok, tid = e['token'], e.get('id') or ''  # pattern, else after its id
                found = secrets_of(r, tok) + secrets_of(r, urllib.parse.unquote(tok))
                pairs.update(found or [(tok, tok[len(tid):] if tid and tok.startswith(tid) else tok)])
    tokens = {tok for tok, _ in pairs}
    windows = set()
    for _, sec in pairs:
        sec = sec.strip('=.')
        if len(sec) <= WINDOW:
            windows.add(sec)
        else:
            windows.update(sec[i:i + WINDOW] for i in range(len(sec) - WINDOW + 1))
    return tokens, windows


def leaks(s, tokens, windows):
    """Tokens or secret slices that occur in s (a scan's stdout or stderr)."""
    hits = {t for t in tokens if t in s}
    short = {w for w in windows if len(w) < WINDOW and w in s}
    hits |= short | {s[i:i + WINDOW] for i in range(len(s) - WINDOW + 1) if s[i:i + WINDOW] in windows}
    return hits


def strings_in(o):
    if isinstance(o, str):
        yield o
    elif isinstance(o, dict):
        for v in o.values():
            yield from strings_in(v)
    elif isinstance(o, list):
        for v in o:
            yield from strings_in(v)


# ---- write and scan ---------------------------------------------------------------------------
def write_all(recs):
    shutil.rmtree(CROSS, ignore_errors=True)
    for rec in recs:
        data = open(rec['file'], 'rb').read()
        name = os.path.basename(rec['file'])
        for enc, ext, fn in ENCODINGS:
            d = os.path.join(CROSS, enc, rec['layout'])
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name + ext), 'wb') as fh:
                fh.write(fn(data, name))


def target(rec, enc, ext):
    return os.path.join(CROSS, enc, rec['layout'], os.path.basename(rec['file']) + ext)


def scan(binary, folder, env):
    r = subprocess.run([binary, 'scan', '--format', 'json', '-q', '--no-baseline', folder],
                       capture_output=True, text=True, cwd=CROSS, env=env)
    if r.returncode not in (0, 1):
        print(f'tokenguard exit {r.returncode} on {folder}: {r.stderr[:300]}', file=sys.stderr)
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    found, allowed = collections.defaultdict(set), collections.defaultdict(set)
    for key, into in (('findings', found), ('allowed', allowed)):
        for f in doc.get(key, []):
            into[os.path.abspath(os.path.join(CROSS, f['file']))].add(f['rule'])
    return r, doc, found, allowed


def negatives(binary, manifest, env):
    """Precision: every negative file of the layout sweep (placeholders, the rules' own
    negatives) in each encoding but plain (run.py covers that), scanned once per encoding;
    prints the files with any finding per encoding (rule ids only)."""
    negs = [m for m in manifest if m['set'] == 'neg']
    root = os.path.join(CROSS, 'neg')
    shutil.rmtree(root, ignore_errors=True)
    for i, rec in enumerate(negs):
        data = open(rec['file'], 'rb').read()
        name = os.path.basename(rec['file'])
        for enc, ext, fn in ENCODINGS[1:]:
            d = os.path.join(root, enc, rec['layout'])
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f'{i}_{name}{ext}'), 'wb') as fh:
                fh.write(fn(data, name))
    print(f'\nnegatives: {len(negs)} files per encoding, in {root}')
    for enc, _, _ in ENCODINGS[1:]:
        r, doc, found, _ = scan(binary, os.path.join(root, enc), env)
        rules = collections.Counter(f['rule'] for f in doc.get('findings', []))
        print(f'  {enc:13} false alarms in {len(found):5} files {dict(rules.most_common(4)) or ""}')


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    if not args:
        sys.exit(__doc__)
    binary = os.path.abspath(args[0]) if os.sep in args[0] else shutil.which(args[0])
    if '--no-gen' not in sys.argv:
        subprocess.run([sys.executable, os.path.join(HERE, 'gen.py')], check=True)
    manifest = json.load(open(os.path.join(LAYOUTS, 'manifest.json')))
    recs = [m for m in manifest if m['set'] == 'pos' and m['expected']]
    if '--no-gen' not in sys.argv or not os.path.isdir(os.path.join(CROSS, 'plain')):
        write_all(recs)
    tokens, windows = load_secrets()
    env = {k: v for k, v in os.environ.items() if k != 'TOKENGUARD_CONFIG'}
    env['XDG_CONFIG_HOME'] = tempfile.mkdtemp(prefix='tg-cross-xdg-')

    rows, misses, leaked = [], {}, collections.Counter()
    plain_missed = set()
    for enc, ext, _ in ENCODINGS:
        r, doc, found, allowed = scan(binary, os.path.join(CROSS, enc), env)
        for stream, s in (('stdout', r.stdout), ('stderr', r.stderr)):
            for h in leaks(s, tokens, windows):
                leaked[(enc, stream, len(h))] += 1
        for s in strings_in(doc):
            for h in leaks(s, tokens, windows):
                leaked[(enc, 'json-string', len(h))] += 1
        miss, other, allow = [], 0, 0
        for rec in recs:
            f = target(rec, enc, ext)
            if set(rec['rules']) & found.get(f, set()):
                continue
            miss.append(rec)
            other += bool(found.get(f))
            allow += bool(set(rec['rules']) & allowed.get(f, set()))
        key = lambda rec: (rec['layout'], os.path.basename(rec['file']))
        if enc == 'plain':
            plain_missed = {key(m) for m in miss}
        own = [m for m in miss if key(m) not in plain_missed]
        rows.append((enc, len(recs), len(recs) - len(miss), len(miss), len(own), other, allow, r.returncode))
        files = collections.defaultdict(lambda: collections.defaultdict(list))
        for m in miss:
            files[m['rule']][m['layout']].append(target(m, enc, ext))
        misses[enc] = dict(
            count=len(miss), own=len(own),
            by_rule=dict(collections.Counter(m['rule'] for m in miss).most_common()),
            by_layout=dict(collections.Counter(m['layout'] for m in miss).most_common()),
            by_kind=dict(collections.Counter(m['kind'] for m in miss).most_common()),
            files={rid: dict(v) for rid, v in files.items()})
    json.dump(misses, open(os.path.join(CROSS, 'misses.json'), 'w'), indent=1)
    shutil.rmtree(env['XDG_CONFIG_HOME'], ignore_errors=True)

    print(f'binary: {binary}\n{len(recs)} expected positive files per encoding, in {CROSS}\n')
    print(f'{"encoding":14}{"expected":>9}{"found":>7}{"missed":>7}{"own":>6}{"other-rule":>11}'
          f'{"allowed":>8}{"exit":>5}')
    for enc, n, f, m, own, other, allow, rc in rows:
        print(f'{enc:14}{n:9}{f:7}{m:7}{own:6}{other:11}{allow:8}{rc:5}')
    print('\nown = missed here but found in plain; other-rule = missed, but another rule reported in it')
    for enc, *_ in rows:
        if misses[enc]['count']:
            top = ', '.join(f'{k}({v})' for k, v in list(misses[enc]['by_rule'].items())[:6])
            print(f'  {enc:13} top rules: {top}')
    if '--negatives' in sys.argv:
        negatives(binary, manifest, env)
    print(f'\nmisses: {os.path.join(CROSS, "misses.json")}')
    print(f'leak check: {len(tokens)} tokens, {len(windows)} secret slices of {WINDOW} characters: '
          + ('NOTHING LEAKED' if not leaked else f'LEAKS {dict(leaked)}'))
    sys.exit(1 if leaked else 0)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Layout sweep runner: python3 benches/layouts/run.py /path/to/tokenguard [--no-gitleaks] [--report-only]

(Run gen.py first; --report-only re-reads results.json. gitleaks: $GITLEAKS or on PATH,
../shared/tools/install-peers.sh installs it.)

Runs tokenguard (and gitleaks, unless --no-gitleaks) on every layout folder that gen.py wrote
under $LAYOUTS_DIR/{pos,neg}/, one process per folder, and compares with manifest.json.
Writes results.json and report.txt there. No secret value is printed:
only file names and rule ids (gitleaks' raw report, which holds them, is deleted at once).
"""
import collections, json, os, subprocess, sys

import shutil
ROOT = os.environ.get('LAYOUTS_DIR', '/tmp/tokenguard-layouts')
GITLEAKS = os.environ.get('GITLEAKS') or shutil.which('gitleaks') or '/opt/peers-bin/gitleaks'
args = [a for a in sys.argv[1:] if not a.startswith('--')]
BIN = os.path.abspath(args[0]) if args and os.sep in args[0] else shutil.which(args[0] if args else 'tokenguard')
USE_GL = '--no-gitleaks' not in sys.argv


def tg_scan(d):
    r = subprocess.run([BIN, 'scan', '--format', 'json', '-q', '--no-baseline', d],
                       capture_output=True, text=True, cwd=ROOT)
    if r.returncode not in (0, 1):
        print(f'tokenguard exit {r.returncode} on {d}: {r.stderr[:300]}', file=sys.stderr)
    found = collections.defaultdict(set)
    if r.stdout.strip():
        for f in json.loads(r.stdout).get('findings', []):
            found[os.path.abspath(os.path.join(ROOT, f['file']))].add(f['rule'])
    return found


def gl_scan(d):
    rep = f'{ROOT}/.gl-report.json'
    subprocess.run([GITLEAKS, 'dir', d, '--report-format', 'json', '--report-path', rep, '--no-banner',
                    '--exit-code', '0', '-l', 'error'], capture_output=True, text=True, cwd=ROOT)
    found = collections.defaultdict(set)
    try:
        for f in json.load(open(rep)):
            found[os.path.abspath(os.path.join(ROOT, f['File']))].add(f['RuleID'])
    finally:
        if os.path.exists(rep):
            os.remove(rep)
    return found


def main():
    if '--report-only' in sys.argv:
        res = json.load(open(f'{ROOT}/results.json'))
    else:
        if not os.path.exists(f'{ROOT}/manifest.json'):
            subprocess.run([sys.executable, f'{ROOT}/gen4.py'], check=True)
        manifest = json.load(open(f'{ROOT}/manifest.json'))
        dirs = sorted({os.path.dirname(m['file']) for m in manifest})
        tg, gl = {}, {}
        for d in dirs:
            tg.update(tg_scan(d))
            if USE_GL:
                gl.update(gl_scan(d))
        res = []
        for m in manifest:
            f = m['file']
            rec = dict(m, tg=sorted(tg.get(f, ())), gl=sorted(gl.get(f, ())))
            if m['set'] == 'pos':
                rec['tg_hit'] = bool(set(m['rules']) & set(rec['tg']))
            res.append(rec)
        json.dump(res, open(f'{ROOT}/results.json', 'w'), indent=0)
    open(f'{ROOT}/misses.txt', 'w').write(''.join(
        r['file'] + '\n' for r in res if r['set'] == 'pos' and r['expected'] and not r['tg_hit']))
    open(f'{ROOT}/false_alarms.txt', 'w').write(''.join(
        f"{r['file']}\t{','.join(r['tg'])}\n" for r in res if r['set'] == 'neg' and r['tg']))

    out = []
    P = lambda s='': out.append(s)
    pos = [r for r in res if r['set'] == 'pos']
    neg = [r for r in res if r['set'] == 'neg']
    exp = [r for r in pos if r['expected']]
    P(f'binary: {BIN}')
    P(f'positive files {len(pos)}, expected {len(exp)}; tokenguard found {sum(r["tg_hit"] for r in exp)}, '
      f'missed {sum(not r["tg_hit"] for r in exp)}'
      + (f'; gitleaks found something in {sum(bool(r["gl"]) for r in exp)}' if USE_GL else ''))
    if USE_GL:
        P(f'  of the tokenguard misses, gitleaks found something in '
          f'{sum(bool(r["gl"]) for r in exp if not r["tg_hit"])}')
    wrong = [r for r in exp if not r['tg_hit'] and r['tg']]
    P(f'  misses where tokenguard reported another rule: {len(wrong)} '
      + str(collections.Counter((r["rule"], tuple(r["tg"])) for r in wrong).most_common(8)))
    P()
    P('per layout (expected files): tg-missed/expected  [gl-found-any/expected]  by kind of miss')
    by = collections.defaultdict(list)
    for r in exp:
        by[r['layout']].append(r)
    for lay in sorted(by, key=lambda l: (-sum(not r['tg_hit'] for r in by[l]), l)):
        rs = by[lay]
        miss = [r for r in rs if not r['tg_hit']]
        kinds = collections.Counter(r['kind'] for r in miss)
        P(f'  {lay:26} {len(miss):3}/{len(rs):3}  gl {sum(bool(r["gl"]) for r in rs):3}/{len(rs):3}  '
          f'{dict(kinds) if kinds else ""}')
    P()
    P('per rule (expected files): tg-missed/expected, layouts missed')
    byr = collections.defaultdict(list)
    for r in exp:
        byr[r['rule']].append(r)
    for rid in sorted(byr, key=lambda x: -sum(not r['tg_hit'] for r in byr[x])):
        rs = byr[rid]
        miss = [r for r in rs if not r['tg_hit']]
        if miss:
            P(f'  {rid:30} {len(miss):3}/{len(rs):3}  '
              + ', '.join(f"{l}({n})" for l, n in sorted(collections.Counter(r['layout'] for r in miss).items())))
    P()
    info = [r for r in pos if not r['expected']]
    P(f'not expected (informational): {len(info)} files, tokenguard found {sum(r["tg_hit"] for r in info)}: '
      + str(collections.Counter(r['layout'] for r in info if r['tg_hit'])))
    P()
    fa = [r for r in neg if r['tg']]
    P(f'negative files {len(neg)}; tokenguard false alarms in {len(fa)}'
      + (f'; gitleaks reported something in {sum(bool(r["gl"]) for r in neg)}' if USE_GL else ''))
    for (rule, negname), n in collections.Counter((tuple(r['tg']), r['neg']) for r in fa).most_common():
        lays = sorted({r['layout'] for r in fa if tuple(r['tg']) == rule and r['neg'] == negname})
        src = sorted({r['rule'] for r in fa if tuple(r['tg']) == rule and r['neg'] == negname})
        where = ",".join(lays) if len(lays) <= 6 else f"{len(lays)} layouts"
        P(f'  {n:3} x {",".join(rule)} on negative {negname} of {",".join(src)}: {where}')
    if USE_GL:
        P()
        P('gitleaks on negatives, by placeholder: files with any finding')
        c = collections.Counter(r['neg'] if not r['neg'].startswith('n') else 'rule-negatives' for r in neg if r['gl'])
        P('  ' + str(dict(c.most_common())))
        P('gitleaks rule ids on negatives: ' + str(dict(collections.Counter(x for r in neg for x in r['gl']).most_common(10))))
    open(f'{ROOT}/report.txt', 'w').write('\n'.join(out) + '\n')
    print('\n'.join(out))


if __name__ == '__main__':
    main()

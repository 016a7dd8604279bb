#!/usr/bin/env python3
"""Scores secret scanners on a labelled corpus, per provider.

    benches/score_providers.py [--corpus DIR] [--bin DIR] [--markdown FILE] [TOOL...]

DIR/labels.json holds one entry per line of DIR/files ({"file", "line", "label", "case"});
`case` is "<provider>:<variant>" (tests/corpus/make_corpus.py). TOOL is any of tokenguard,
gitleaks, betterleaks, kingfisher, detect-secrets, ripsecrets, secretlint (default: every
one found); executables are looked up in --bin (default /opt/peers-bin, then
target/release and target/debug for tokenguard), then on PATH.

For each tool and provider: recall (token lines with a finding / token lines) and false
positives (findings on clean lines, counted under the provider of the near miss they hit,
"hash" for hashes and ids, "filler" for the rest). A finding on a line that is not in the
labels counts as a false positive too. "leaks": token lines one of whose long values (20+
characters) appears verbatim in the tool's output.

Run it from outside any repository that allowlists the corpus (it runs in a temp folder).
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ["tokenguard", "gitleaks", "betterleaks", "kingfisher", "detect-secrets", "ripsecrets", "secretlint"]


def rel(path, root):
    """`path` as a tool printed it (absolute, or relative to the folder it ran in), relative to
    `root`."""
    path = path.replace("\\", "/")
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(root), path)
    marker = root.rstrip("/") + "/"
    i = path.find(marker)
    return path[i + len(marker):] if i >= 0 else path.lstrip("./")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", cwd=os.path.dirname(WORK["root"]))
    return p.returncode, p.stdout, p.stderr


# The temporary copy of the corpus's files (set by main).
WORK = {}


def tokenguard(exe, root):
    rc, out, err = run([exe, "scan", root, "--format", "json"])
    if rc not in (0, 1):
        sys.exit("tokenguard failed (%d): %s" % (rc, err[-400:]))
    data = json.loads(out)
    return {(rel(f["file"], root), f["line"]) for f in data["findings"]}, out + err


def gitleaks(exe, root):
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "r.json")
        _, out, err = run([exe, "dir", root, "--no-banner", "-f", "json", "-r", report, "--redact"])
        data = json.load(open(report)) if os.path.exists(report) else []
    return {(rel(f["File"], root), f["StartLine"]) for f in data}, out + err + json.dumps(data)


def betterleaks(exe, root):
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "r.json")
        _, out, err = run([exe, root, "--no-banner", "-o", report, "--redact", "-l", "error"])
        data = json.load(open(report)).get("findings", []) if os.path.exists(report) else []
    got = {(rel(f["location"]["path"], root), f["location"]["start_line"]) for f in data}
    return got, out + err + json.dumps(data)


def kingfisher(exe, root):
    _, out, err = run([exe, "scan", root, "--format", "json", "--no-update-check", "--no-validate"])
    data, _ = json.JSONDecoder().raw_decode(out.strip())
    return {(rel(f["finding"]["path"], root), f["finding"]["line"]) for f in data["findings"]}, out + err


def detect_secrets(exe, root):
    _, out, err = run([exe, "scan", "--all-files", root])
    data = json.loads(out)
    got = {(rel(f, root), it["line_number"]) for f, items in data.get("results", {}).items() for it in items}
    return got, out + err


def text_lines(cmd, root):
    _, out, err = run(cmd)
    got = set()
    for line in (out + err).splitlines():
        m = re.match(r"^(.+?):(\d+):", line)
        if m:
            got.add((rel(m.group(1), root), int(m.group(2))))
    return got, out + err


RUNNERS = {
    "tokenguard": tokenguard,
    "gitleaks": gitleaks,
    "betterleaks": betterleaks,
    "kingfisher": kingfisher,
    "detect-secrets": detect_secrets,
    "ripsecrets": lambda exe, root: text_lines([exe, root], root),
    "secretlint": lambda exe, root: text_lines([exe, "--format", "unix", root + "/**/*"], root),
}


def find_exe(tool, bin_dir):
    candidates = [os.path.join(bin_dir, tool)]
    if tool == "tokenguard":
        candidates += [os.path.join(ROOT, "target", t, "tokenguard") for t in ("release", "debug")]
    for c in candidates:
        if os.path.exists(c):
            return c
    return shutil.which(tool)


def provider(case):
    return case.split(":")[0] if ":" in case else case


def leaked(secret, output):
    tail = secret[int(len(secret) * 0.4):]
    return any(tail[i:i + 16] in output for i in range(0, max(1, len(tail) - 15)))


def score(labels, secrets, got, output, root):
    tokens = {(x["file"], x["line"]): x for x in labels if x["label"] == "token"}
    clean = {(x["file"], x["line"]): x for x in labels if x["label"] != "token"}
    per = collections.defaultdict(lambda: {"tokens": 0, "found": 0, "fp": 0})
    for key, x in tokens.items():
        p = per[provider(x["case"])]
        p["tokens"] += 1
        p["found"] += key in got
    fp_cases = collections.Counter()
    for key in got:
        if key in tokens:
            continue
        case = clean[key]["case"] if key in clean else "unlabelled"
        per[provider(case)]["fp"] += 1
        fp_cases[case] += 1
    leaks = sum(1 for x in secrets if leaked(x["secret"], output))
    return per, fp_cases, leaks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(ROOT, "tests", "corpus", "providers"))
    ap.add_argument("--bin", default=os.environ.get("PEERS_BIN", "/opt/peers-bin"))
    ap.add_argument("--markdown", help="also write the per-provider tables to this file")
    ap.add_argument("tools", nargs="*")
    a = ap.parse_args()
    labels = json.load(open(os.path.join(a.corpus, "labels.json")))
    secrets_path = os.path.join(a.corpus, "secrets.json")
    secrets = json.load(open(secrets_path)) if os.path.exists(secrets_path) else []
    tools = a.tools or TOOLS
    results = {}
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "files")
        shutil.copytree(os.path.join(a.corpus, "files"), root)
        with open(os.path.join(work, ".secretlintrc.json"), "w") as rc:
            rc.write('{"rules":[{"id":"@secretlint/secretlint-rule-preset-recommend"}]}\n')
        WORK["root"] = root
        for tool in tools:
            exe = find_exe(tool, a.bin)
            if not exe:
                print("skip %s: not installed" % tool, file=sys.stderr)
                continue
            got, output = RUNNERS[tool](exe, root)
            results[tool] = score(labels, secrets, got, output, root)
    providers = sorted({provider(x["case"]) for x in labels if x["label"] == "token"})
    others = sorted({p for per, _, _ in results.values() for p in per if p not in providers})
    lines = []
    head = "| provider | tokens | " + " | ".join(results) + " |"
    lines += ["### Recall (token lines found / token lines) and false positives (findings on clean lines)", "",
              head, "|" + "---|" * (len(results) + 2)]
    for p in providers + others:
        n = next((per[p]["tokens"] for per, _, _ in results.values() if p in per), 0)
        cells = []
        for per, _, _ in results.values():
            s = per.get(p, {"tokens": 0, "found": 0, "fp": 0})
            cell = ("%d/%d" % (s["found"], s["tokens"])) if s["tokens"] else "-"
            if s["fp"]:
                cell += " (fp %d)" % s["fp"]
            cells.append(cell)
        lines.append("| %s | %s | %s |" % (p, n or "-", " | ".join(cells)))
    total_t = sum(1 for x in labels if x["label"] == "token")
    cells = []
    for per, _, leaks in results.values():
        found = sum(s["found"] for s in per.values())
        fp = sum(s["fp"] for s in per.values())
        cells.append("%d/%d (fp %d, leaks %d)" % (found, total_t, fp, leaks))
    lines.append("| **all** | %d | %s |" % (total_t, " | ".join(cells)))
    lines += ["", "### False positives by case", ""]
    for tool, (_, fp_cases, _) in results.items():
        top = ", ".join("%s %d" % (c, n) for c, n in fp_cases.most_common())
        lines.append("- %s: %s" % (tool, top or "none"))
    text = "\n".join(lines) + "\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()

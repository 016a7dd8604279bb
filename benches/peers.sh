#!/usr/bin/env bash
# Times tokenguard against the peer scanners in the same run, on the same inputs, and prints
# ratios (peer time / tokenguard time: above 1, tokenguard is faster).
#
#   benches/peers.sh [FILES] [RUNS]     # defaults: 50000 files, 20 runs
#
# 1. pre-commit latency: a repository of FILES tracked files (as benches/staged.sh) with one
#    staged line holding a synthetic token, then one clean staged line; median of RUNS runs of
#    each scanner's staged mode, and `git diff --cached --quiet` as the floor.
# 2. history scan: the repository of benches/history.sh (COMMITS commits, 56 planted tokens at
#    the default 20000), median of HRUNS runs of each scanner's full-history mode, with the
#    number of findings of each.
#
# Environment: PEERS_BIN (default /opt/peers-bin), COMMITS (default 20000), HISTORY_FILES
# (default 3000), HRUNS (default 3), SKIP_HISTORY=1, TOKENGUARD (default: release build).
# Every tool writes a report file (redacted where the tool can) into a temp folder that is
# removed at the end; the token is generated at run time and never printed. Before timing,
# each command runs once and its exit status is checked: "found" on the token case, 0 on the
# clean one. A command that errors (126/127, a crash, any other status) is reported as an
# error, not timed; a peer that exits 0 on the token case is timed and marked MISSED.
# Needs hyperfine and python3.
set -euo pipefail

FILES=${1:-50000}
RUNS=${2:-20}
HRUNS=${HRUNS:-3}
COMMITS=${COMMITS:-20000}
PEERS=${PEERS_BIN:-/opt/peers-bin}
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${TOKENGUARD:-} ]]; then
    cargo build --release --quiet --manifest-path "$here/Cargo.toml"
    BIN="$here/target/release/tokenguard"
else
    BIN=$(cd "$(dirname "$TOKENGUARD")" && pwd)/$(basename "$TOKENGUARD")
fi
command -v hyperfine >/dev/null || { echo "peers.sh: hyperfine is required" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-peers.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/r"
# An empty global config file of our own: a tool that writes the global config must not be
# able to replace /dev/null (git config renames its lock file over the target).
: >"$work/gitconfig"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/gitconfig"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export KF_RULE_CACHE_DIR="$work/kingfisher-cache" NO_COLOR=1
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
[[ -c /dev/null ]] || echo "WARNING: /dev/null is not a character device; results are suspect" >&2

notes=()
have() { # tool name -> 0 when installed and runnable
    [[ -x $PEERS/$1 ]] && "$PEERS/$1" --version >"$work/version" 2>&1
}
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tokenguard: $("$BIN" --version 2>&1 | head -1)"
for t in gitleaks betterleaks kingfisher ripsecrets detect-secrets; do
    if have "$t"; then echo "$t: $(head -1 "$work/version")"; else echo "$t: not installed"; fi
done
if command -v git-secrets >/dev/null || [[ -x $PEERS/git-secrets ]]; then
    echo "git-secrets: installed"
fi

# --- commands --------------------------------------------------------------------------
# Each entry: name|exit status meaning "found" (floor:N: a floor, always exiting N)|command.
# Run without a shell (hyperfine -N); `sh -c` only where a tool's hook needs the staged file
# list, as those tools' own hooks do.
staged_cmds=()
add_staged() { staged_cmds+=("$1|$2|$3"); }
add_staged "git diff --cached --quiet" floor:1 "git diff --cached --quiet"
add_staged tokenguard 1 "$BIN scan --staged --format json --output $work/r/tokenguard.json"
have gitleaks && add_staged gitleaks 1 \
    "$PEERS/gitleaks git --staged --no-banner --redact -f json -r $work/r/gitleaks.json ."
have betterleaks && add_staged betterleaks 1 \
    "$PEERS/betterleaks git --staged --no-banner --redact -l error -o $work/r/betterleaks.json ."
have kingfisher && add_staged kingfisher 200 \
    "$PEERS/kingfisher scan . --staged --no-update-check --no-validate -r -q -f json -o $work/r/kingfisher.json"
if command -v git-secrets >/dev/null || [[ -x $PEERS/git-secrets ]]; then
    # What its pre-commit hook runs: git-grep of the staged files' index versions.
    add_staged git-secrets 1 "git secrets --pre_commit_hook"
fi
have ripsecrets && add_staged ripsecrets 1 \
    "sh -c '$PEERS/ripsecrets --strict-ignore \$(git diff --cached --name-only --diff-filter=ACM) >$work/r/ripsecrets.txt'"
have detect-secrets && add_staged detect-secrets 1 \
    "sh -c '$PEERS/detect-secrets-hook \$(git diff --cached --name-only --diff-filter=ACM) >$work/r/detect-secrets.txt'"

findings_of() { # name, report folder -> number of findings in its report ("-" if none)
    python3 - "$1" "$2" <<'PY'
import json, os, sys
name, d = sys.argv[1], sys.argv[2]
def load(p):
    with open(p) as f:
        data, _ = json.JSONDecoder().raw_decode(f.read().strip() or "null")
    return data
try:
    if name == "tokenguard":
        print(len(load(os.path.join(d, "tokenguard.json"))["findings"]))
    elif name == "gitleaks":
        print(len(load(os.path.join(d, "gitleaks.json")) or []))
    elif name == "betterleaks":
        print(len(load(os.path.join(d, "betterleaks.json"))["findings"]))
    elif name == "kingfisher":
        print(len(load(os.path.join(d, "kingfisher.json"))["findings"]))
    else:
        print("-")
except (OSError, ValueError, KeyError, TypeError):
    print("?")
PY
}

# Runs each command once and checks its status; prints rows of "name|status|verdict".
check() { # expect: found|clean, commands...
    local expect=$1; shift
    local entry name code cmd st
    for entry in "$@"; do
        IFS='|' read -r name code cmd <<<"$entry"
        rm -f "$work/r/"*
        st=0
        (eval "set -- $cmd"; "$@") >"$work/out" 2>&1 || st=$?
        if [[ $code == floor:* ]]; then # a floor: always the same status
            if [[ $st -eq ${code#floor:} ]]; then echo "$name|$st|floor|-"; else
                echo "$name|$st|ERROR: exit $st|-"; fi
        elif [[ $st -eq 0 && $expect == clean ]] || [[ $st -eq $code && $expect == found ]]; then
            echo "$name|$st|ok|$(findings_of "$name" "$work/r")"
        elif [[ $st -eq 0 && $expect == found ]]; then
            echo "$name|$st|MISSED|$(findings_of "$name" "$work/r")"
        elif [[ $st -eq $code && $expect == clean ]]; then
            echo "$name|$st|FALSE ALARM|$(findings_of "$name" "$work/r")"
        else
            echo "$name|$st|ERROR: $(tail -1 "$work/out" | tr '|' '/' | cut -c1-100)|-"
        fi
    done
}

# Times the commands that did not error; prints "name|median ms|verdict|findings|exit codes".
bench() { # runs, warmup, checked rows file, commands...
    local runs=$1 warmup=$2 rows=$3; shift 3
    local args=() names=() entry name code cmd
    for entry in "$@"; do
        IFS='|' read -r name code cmd <<<"$entry"
        grep -q "^$name|[0-9]*|ERROR" "$rows" && continue
        args+=(-n "$name" "$cmd"); names+=("$name")
    done
    hyperfine -N -i --output=pipe --warmup "$warmup" --runs "$runs" \
        --export-json "$work/h.json" "${args[@]}" >"$work/hyperfine.log" 2>&1 \
        || { cat "$work/hyperfine.log" >&2; exit 2; }
    python3 - "$work/h.json" "$rows" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for row in open(sys.argv[2]):
    name, st, verdict, found = row.rstrip("\n").split("|", 3)
    r = res.get(name)
    if r is None:
        print(f"{name}|-|{verdict}|{found}|exit {st}")
        continue
    codes = sorted(set(r["exit_codes"]))
    if codes != [int(st)]:
        verdict = f"{verdict}; exit codes varied {codes}"
    print(f"{name}|{r['median'] * 1000:.1f}|{verdict}|{found}|exit {st}")
PY
}

table() { # title, base name, rows (name|ms|verdict|findings|exit)
    local title=$1 base=$2 rows=$3
    echo
    [[ -n $title ]] && echo "$title"
    python3 - "$base" "$rows" <<'PY'
import sys
base, rows = sys.argv[1], [l.rstrip("\n").split("|") for l in open(sys.argv[2])]
t = {r[0]: r[1] for r in rows}
b = float(t[base]) if t.get(base, "-") != "-" else None
print(f"| {'command':<28} | {'median':>10} | {'ratio':>7} | {'findings':>8} | status |")
print(f"|{'-' * 30}|{'-' * 12}|{'-' * 9}|{'-' * 10}|--------|")
for name, ms, verdict, found, code in rows:
    if ms == "-":
        print(f"| {name:<28} | {'error':>10} | {'-':>7} | {found:>8} | {code}: {verdict} |")
        continue
    ratio = f"{float(ms) / b:.2f}x" if b else "-"
    print(f"| {name:<28} | {ms + ' ms':>10} | {ratio:>7} | {found:>8} | {code} {verdict} |")
PY
}

# --- 1. pre-commit latency -------------------------------------------------------------
repo="$work/repo"
git init -q -b main "$repo"
cd "$repo"
echo "creating $FILES files..." >&2
# Same layout as benches/staged.sh: 50 folders of 20 sub-folders of up to 50 files, each ~12
# lines of source-like text.
awk -v n="$FILES" 'BEGIN {
  for (i = 0; i < n; i++) {
    d = sprintf("mod%02d/part%02d", int(i / 1000) % 50, int(i / 50) % 20);
    if (!(d in made)) { system("mkdir -p " d); made[d] = 1 }
    f = sprintf("%s/file%05d.py", d, i);
    printf "# module %d\nimport os\n\n", i > f;
    for (j = 0; j < 4; j++)
      printf "def handler_%d_%d(request):\n    value = request.get(\"k%d\")\n    return value\n", i, j, j > f;
    close(f);
  }
}'
git add -A
git commit -q -m "initial"
git repack -adq && git prune-packed
# git-secrets has no Dynatrace pattern of its own: give it the token's shape (repository config).
git secrets --add 'dt0[a-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64}' 2>/dev/null || true
target=$(git ls-files | sed -n "$((FILES / 2 + 1))p")

# One staged line holding a synthetic token (random, never printed).
python3 -c 'import secrets as s; a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
print("DT_API_TOKEN = \"dt0c01." + "".join(s.choice(a) for _ in range(24)) + "." + "".join(s.choice(a) for _ in range(64)) + "\"")' >>"$target"
git add "$target"
[[ $(git diff --cached --numstat) == "1	0	$target" ]] || { echo "staging failed" >&2; exit 2; }
check found "${staged_cmds[@]}" >"$work/rows-token"
bench "$RUNS" 3 "$work/rows-token" "${staged_cmds[@]}" >"$work/staged-token"

# One clean staged line instead.
git show "HEAD:$target" >"$target"
echo '    return os.environ.get("DT_API_TOKEN")' >>"$target"
git add "$target"
[[ $(git diff --cached --numstat) == "1	0	$target" ]] || { echo "staging failed" >&2; exit 2; }
check clean "${staged_cmds[@]}" >"$work/rows-clean"
bench "$RUNS" 3 "$work/rows-clean" "${staged_cmds[@]}" >"$work/staged-clean"

echo
echo "== pre-commit latency: $FILES tracked files, one staged line, median of $RUNS runs =="
echo "ratio = command time / tokenguard time (above 1: tokenguard is faster)"
table "token line (exit status must say found):" tokenguard "$work/staged-token"
table "clean line (exit status must be 0):" tokenguard "$work/staged-clean"

# --- 2. history scan -------------------------------------------------------------------
if [[ -n ${SKIP_HISTORY:-} ]]; then exit 0; fi
cd "$here"
echo >&2
echo "history: generating with benches/history.sh (prints its own git floors)..." >&2
WORK="$work" COMMITS="$COMMITS" FILES="${HISTORY_FILES:-3000}" TOKENGUARD="$BIN" \
    bash "$here/benches/history.sh" >"$work/history.out" 2>&1 \
    || { cat "$work/history.out" >&2; echo "benches/history.sh failed" >&2; exit 2; }
hrepo="$work/history-bench.git"
cd "$hrepo"
planted=$(git log -p --all --no-merges --no-color \
    | grep -cE '^\+.*dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}' || true)
history_cmds=()
history_cmds+=("tokenguard|1|$BIN scan --history --quiet --format json --output $work/r/tokenguard.json")
have gitleaks && history_cmds+=("gitleaks|1|$PEERS/gitleaks git --no-banner --redact -f json -r $work/r/gitleaks.json .")
have betterleaks && history_cmds+=("betterleaks|1|$PEERS/betterleaks git --no-banner --redact -l error -o $work/r/betterleaks.json .")
have kingfisher && history_cmds+=("kingfisher|200|$PEERS/kingfisher scan . --git-history full --no-update-check --no-validate -r -q -f json -o $work/r/kingfisher.json")
history_cmds+=("git log -p --all|floor:0|git log -p --all --no-color")
history_cmds+=("cat-file --batch-all-objects|floor:0|git cat-file --batch-all-objects --batch")
expect=found
[[ $planted -gt 0 ]] || expect=clean # small COMMITS may plant no token
check "$expect" "${history_cmds[@]}" >"$work/rows-history"
bench "$HRUNS" 0 "$work/rows-history" "${history_cmds[@]}" >"$work/history"
echo
echo "== history scan: $(git rev-list --all | wc -l) commits, $(du -sh . | cut -f1), $planted token lines added, median of $HRUNS runs =="
echo "ratio = command time / tokenguard time (above 1: tokenguard is faster); findings from each report"
echo "(Kingfisher de-duplicates identical secrets by default)"
table "" tokenguard "$work/history"
echo
echo "benches/history.sh on the same repository:"
sed -n '/^tokenguard /,$p' "$work/history.out"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

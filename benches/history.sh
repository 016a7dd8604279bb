#!/usr/bin/env bash
# Benchmark of `tokenguard scan --history` against git's own walks of the same history.
#
#   benches/history.sh            generate a repository (fast-import) and time it
#   benches/history.sh DIR        time it on an existing clone (bare or not)
#
# Environment: COMMITS (default 20000), FILES (default 3000), WORK (default a temp folder),
# TOKENGUARD (default: target/release/tokenguard, built if missing).
# Prints wall time and peak memory (maximum resident set size) of each command, and the
# ratios of tokenguard's time to git's: the goals are < 1 against `git log -p --all` and
# < 2 against the cat-file floor (reading every object of the history once).
#
# The floor: `git rev-list --objects --all | cut -d' ' -f1 | git cat-file --batch`. Without
# the `cut`, cat-file takes each whole line ("<id> <path>") as an object name and answers
# "missing" for every tree and blob (git 2.47 does), so it reads the commits only; that
# command (`revlist`: in effect the cost of git's own walk of every commit and tree) is
# timed too, for comparison with earlier runs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
commits=${COMMITS:-20000}
files=${FILES:-3000}
tg=${TOKENGUARD:-$here/target/release/tokenguard}
if [[ -z ${TOKENGUARD:-} ]]; then
    (cd "$here" && cargo build --release --quiet)
fi
tg=$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")

if [[ $# -ge 1 ]]; then
    repo=$(cd "$1" && pwd)
else
    work=${WORK:-$(mktemp -d)}
    repo=$work/history-bench.git
    if [[ ! -d $repo ]]; then
        echo "generating $commits commits over $files files in $repo" >&2
        git init -q --bare "$repo"
        python3 - "$commits" "$files" <<'PY' | git -C "$repo" fast-import --quiet
import random, sys
commits, nfiles = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(42)
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
words = ["alpha", "beta", "gamma", "delta", "config", "value", "retry", "timeout", "user",
         "server", "port", "return", "if", "else", "for", "while", "import", "def", "class"]
def line():
    return " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 10))) + f" = {rnd.randint(0, 99999)}"
def token():
    return "dt0c01." + "".join(rnd.choice(alnum) for _ in range(24)) + "." + \
        "".join(rnd.choice(alnum) for _ in range(64))
paths = [f"src/mod{i % 50:02d}/sub{i % 7}/file{i:05d}.{rnd.choice(['py', 'rs', 'yaml', 'md'])}"
         for i in range(nfiles)]
content = {}
out = sys.stdout.buffer
def emit(s):
    out.write(s.encode() if isinstance(s, str) else s)
def data(b):
    emit(f"data {len(b)}\n"); emit(b); emit("\n")
t0 = 1_500_000_000
mark = 0
last = {}          # branch -> mark of its last commit
topic_touched = set()
def commit(c, branch, msg, chosen, merge=None, mutate=True):
    global mark
    mark += 1
    emit(f"commit refs/heads/{branch}\nmark :{mark}\n")
    emit(f"author Bench <bench@example.com> {t0 + c * 600} +0000\n")
    emit(f"committer Bench <bench@example.com> {t0 + c * 600} +0000\n")
    data(f"{msg}\n".encode())
    if branch in last:
        emit(f"from :{last[branch]}\n")
    elif "main" in last:
        emit(f"from :{last['main']}\n")
    if merge:
        emit(f"merge :{merge}\n")
    for p in chosen:
        lines = content.get(p) or [line() for _ in range(rnd.randint(20, 120))]
        if c and mutate:
            for _ in range(rnd.randint(1, 3)):
                i = rnd.randrange(len(lines) + 1)
                if rnd.random() < 0.5 and len(lines) > 5:
                    del lines[min(i, len(lines) - 1)]
                else:
                    lines.insert(i, line())
            if rnd.random() < 0.001:
                lines.insert(rnd.randrange(len(lines) + 1), f"DT_API_TOKEN={token()}")
        content[p] = lines
        emit(f"M 100644 inline {p}\n")
        data(("\n".join(lines) + "\n").encode())
    last[branch] = mark
# Mostly linear, with a topic branch of 20 commits merged back every 500 commits.
for c in range(commits):
    chosen = paths if c == 0 else [rnd.choice(paths) for _ in range(rnd.randint(1, 4))]
    in_topic = c % 500 >= 480
    if in_topic and c % 2 == 0:
        commit(c, "topic", f"topic change {c}", chosen)
        topic_touched.update(chosen)
    else:
        commit(c, "main", f"change {c}", chosen)
    if c % 500 == 499 and "topic" in last:
        commit(c, "main", f"Merge topic at {c}", sorted(topic_touched), merge=last["topic"],
               mutate=False)
        topic_touched.clear()
        emit("reset refs/heads/topic\n\n")
        del last["topic"]
    if c and c % 2000 == 0:
        emit(f"reset refs/tags/v{c // 2000}\nfrom :{last['main']}\n\n")
PY
        git -C "$repo" repack -adq
    fi
fi

count=$(git -C "$repo" rev-list --all | wc -l)
size=$(du -sh "$repo" | cut -f1)
echo "repository: $repo ($count commits, $size)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeit() { # name, command...
    local name=$1; shift
    local start end
    status=0
    if [[ -x /usr/bin/time ]]; then
        start=$(date +%s.%N)
        /usr/bin/time -v -o "$tmp/$name.time" bash -c "$*" || status=$?
        end=$(date +%s.%N)
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/$name.time")
    else
        start=$(date +%s.%N)
        bash -c "$*" || status=$?
        end=$(date +%s.%N)
        rss=0
    fi
    secs=$(echo "$end - $start" | bc -l)
    printf '%-12s %8.2f s   peak %7.1f MiB\n' "$name" "$secs" "$(echo "$rss / 1024" | bc -l)"
    eval "t_$name=$secs"
}

# Warm the page cache so that every command reads from memory.
cat "$repo"/objects/pack/* >/dev/null 2>&1 || true
cd "$repo"
timeit tokenguard "'$tg' scan --history --quiet --format json --output '$tmp/findings.json'"
if [[ $status -gt 1 ]]; then echo "tokenguard failed (exit $status)" >&2; exit 2; fi
timeit gitlog "git log -p --all --no-color >/dev/null"
timeit catfile "git rev-list --objects --all | cut -d' ' -f1 | git cat-file --batch >/dev/null"
timeit revlist "git rev-list --objects --all | git cat-file --batch >/dev/null"
found=$(grep -c '"fingerprint"' "$tmp/findings.json" || true)
echo "tokenguard findings: $found"
printf 'ratio tokenguard / git log -p --all: %.2f (goal < 1)\n' "$(echo "$t_tokenguard / $t_gitlog" | bc -l)"
printf 'ratio tokenguard / cat-file floor:   %.2f (goal < 2)\n' "$(echo "$t_tokenguard / $t_catfile" | bc -l)"
printf 'ratio tokenguard / revlist (commits and trees only): %.2f\n' "$(echo "$t_tokenguard / $t_revlist" | bc -l)"

#!/usr/bin/env bash
# Times `tokenguard scan --staged` against `git diff --cached --quiet` on a repository of
# 50,000 tracked files with a small staged change (see docs/staged.md).
#
#   benches/staged.sh [FILES] [RUNS]       # defaults: 50000 files, 100 runs
#   OTHER=/path/to/tokenguard benches/staged.sh   # also times another build in the same run
#
# Builds the release binary, creates the repository in a temp folder (removed at the end),
# and prints the median of each command and their ratio. Uses hyperfine when installed,
# else a loop timed with `date +%s%N`.
set -euo pipefail

FILES=${1:-50000}
RUNS=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
BIN="$here/target/release/tokenguard"

work=$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-staged.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/gitconfig" # an empty global config (never /dev/null: `git config --global` replaces it)
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/gitconfig"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

repo="$work/repo"
git init -q -b main "$repo"
cd "$repo"
echo "creating $FILES files..." >&2
# 50 folders of 20 sub-folders of up to 50 files, each ~12 lines of source-like text.
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
echo "stage a small change..." >&2
printf 'def added(request):\n    return os.environ.get("DT_API_TOKEN")\n' >> mod07/part03/file07150.py
printf 'new file\nline two\n' > mod21/part11/notes.txt
git add mod07/part03/file07150.py mod21/part11/notes.txt

"$BIN" scan --staged --verbose   # sanity: must say no tokens found and exit 0

median_ms() { # prints the median of the numbers (ns) on stdin, in ms
  sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m / 1e6 }'
}

if command -v hyperfine >/dev/null; then
  hyperfine -N -i --warmup 5 --runs "$RUNS" --export-json "$work/h.json" \
    'git diff --cached --quiet' "$BIN scan --staged" >&2
  git_ms=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("%.2f" % (r[0]["median"]*1000))' "$work/h.json")
  tg_ms=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("%.2f" % (r[1]["median"]*1000))' "$work/h.json")
else
  time_runs() {
    for _ in $(seq "$RUNS"); do
      s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $((e - s))
    done | median_ms
  }
  for _ in 1 2 3 4 5; do git diff --cached --quiet || true; "$BIN" scan --staged >/dev/null; done
  git_ms=$(time_runs git diff --cached --quiet)
  tg_ms=$(time_runs "$BIN" scan --staged)
fi
ratio=$(awk -v a="$tg_ms" -v b="$git_ms" 'BEGIN { printf "%.2f", a / b }')
echo "files: $FILES  runs: $RUNS"
echo "git diff --cached --quiet  median: $git_ms ms"
echo "tokenguard scan --staged   median: $tg_ms ms"
echo "ratio (tokenguard / git):  $ratio"
if [[ -n ${OTHER:-} ]]; then
  # Interleaved with git's runs, so that load shifts hit both alike.
  other() { "$OTHER" scan --staged >/dev/null 2>&1 || true; }
  for _ in 1 2 3 4 5; do other; done
  pairs=$(for _ in $(seq "$RUNS"); do
    s=$(date +%s%N); git diff --cached --quiet || true; m=$(date +%s%N)
    "$OTHER" scan --staged >/dev/null 2>&1 || true; o=$(date +%s%N)
    "$BIN" scan --staged >/dev/null 2>&1 || true; e=$(date +%s%N)
    echo "$((m - s)) $((o - m)) $((e - o))"
  done)
  g=$(cut -d' ' -f1 <<<"$pairs" | median_ms)
  x=$(cut -d' ' -f2 <<<"$pairs" | median_ms)
  t=$(cut -d' ' -f3 <<<"$pairs" | median_ms)
  echo "interleaved: git $g ms, $OTHER $x ms, this build $t ms"
  awk -v g="$g" -v x="$x" -v t="$t" 'BEGIN { printf "ratio to git: other %.2f, this build %.2f\n", x / g, t / g }'
fi

#!/usr/bin/env bash
# Benchmark of `tokenguard scan --history` on hostile repositories: small to store, huge to
# read. Each is built in a temp folder (git fast-import), then scanned; prints wall time and
# peak memory (maximum resident set size, via /usr/bin/time) of each scan.
#
#   benches/hostile-history.sh              every case
#   CASES="dense oneline" benches/...       some of them
#
# Cases:
#   dense     a 200 MiB blob of one `apiToken: <21 characters>` line repeated (about 6.6
#             million findings of one token; the repository is under 1 MB)
#   distinct  a 32 MiB blob of a million lines, each a different token (caps on findings and
#             on the fingerprints kept per blob)
#   oneline   a 1 GiB blob that is one line
#   twobig    two 2 GiB blobs in one commit
#   deltabig  a 256 MiB blob, then the same with a line changed (stored as a delta of it)
#
# Objects are kept in a pack, as a push of 100 objects or more arrives (`receive.unpackLimit`);
# LOOSE=1 builds them as loose objects instead, as a smaller push arrives.
#
# Environment: WORK (default a temp folder; repositories already there are reused),
# TOKENGUARD (default: target/release/tokenguard, built if missing), CASES, LOOSE.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tg=${TOKENGUARD:-$here/target/release/tokenguard}
if [[ -z ${TOKENGUARD:-} ]]; then
    (cd "$here" && cargo build --release --quiet)
fi
tg=$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")
work=${WORK:-$(mktemp -d)}
cases=${CASES:-dense distinct oneline twobig deltabig}
if [[ ! -x /usr/bin/time ]]; then
    echo "/usr/bin/time is needed for the peak memory (apt-get install time)" >&2
    exit 2
fi

# Writes a fast-import stream for case $1 on standard output.
generate() {
    python3 - "$1" <<'PY'
import random, sys
case = sys.argv[1]
out = sys.stdout.buffer
rnd = random.Random(7)
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
def legacy():
    while True:
        t = "".join(rnd.choice(alnum) for _ in range(21))
        if any(c.isupper() for c in t) and any(c.islower() for c in t) and any(c.isdigit() for c in t):
            return t
def blob(size, chunk):
    # `size` bytes of `chunk` repeated (cut at the end), streamed.
    out.write(b"data %d\n" % size)
    block = chunk * max(1, (1 << 20) // len(chunk))
    left = size
    while left:
        n = min(left, len(block))
        out.write(block[:n])
        left -= n
    out.write(b"\n")
n = 0
def commit(files):
    global n
    n += 1
    out.write(b"commit refs/heads/main\n")
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % (1_600_000_000 + n))
    out.write(b"data 7\nhostile\n")
    for path, size, chunk in files:
        out.write(b"M 100644 inline %s\n" % path)
        blob(size, chunk)
commit([(b"README", 6, b"hello\n")])
if case == "dense":
    commit([(b"dense.yaml", 200 << 20, ("apiToken: %s\n" % legacy()).encode())])
elif case == "distinct":
    lines = b"".join(("apiToken: %s\n" % legacy()).encode() for _ in range(1_000_000))
    out.write(b"commit refs/heads/main\ncommitter Bench <bench@example.com> 1600000100 +0000\n")
    out.write(b"data 7\nhostile\nM 100644 inline distinct.yaml\n")
    out.write(b"data %d\n" % len(lines) + lines + b"\n")
elif case == "oneline":
    commit([(b"oneline.txt", 1 << 30, b"0123456789abcdef")])
elif case == "twobig":
    commit([(b"big1.txt", 2 << 30, b"first big blob, one line "),
            (b"big2.txt", 2 << 30, b"second big blob, another line\n")])
elif case == "deltabig":
    commit([(b"big.txt", 256 << 20, b"a line of the big file\n")])
    commit([(b"big.txt", 256 << 20, b"a line of the big file, changed\n")])
PY
}

form=pack
unpack=1
if [[ ${LOOSE:-} == 1 ]]; then
    form=loose
    unpack=1000
fi
echo "objects: $form; tokenguard: $tg"
printf '%-10s %10s %10s %8s  %s\n' case "repo" "wall s" "peak MiB" "exit"
for c in $cases; do
    repo=$work/hostile-$c-$form.git
    if [[ ! -d $repo ]]; then
        git init -q --bare "$repo"
        # fast-import stores a blob as a delta of the one before when both are under its
        # threshold (512 MiB by default): deltabig's second version is a delta of its first.
        # It unpacks fewer objects than fastimport.unpackLimit into loose ones.
        generate "$c" | git -C "$repo" -c fastimport.unpackLimit=$unpack fast-import --quiet
    fi
    size=$(du -sh "$repo" | cut -f1)
    start=$(date +%s.%N)
    status=0
    /usr/bin/time -v -o "$work/$c.time" "$tg" scan --history -C "$repo" --quiet --format json \
        --output "$work/$c.json" 2>"$work/$c.err" || status=$?
    end=$(date +%s.%N)
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$c.time")
    found=$(grep -c '"fingerprint"' "$work/$c.json" || true)
    printf '%-10s %10s %10.2f %8.1f  %s (%s findings)\n' "$c" "$size" \
        "$(echo "$end - $start" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$status" "$found"
done

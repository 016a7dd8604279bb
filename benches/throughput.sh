#!/bin/sh
# Throughput of `tokenguard scan FILE` against `grep -cE` with Dynatrace's regex, in one run.
#
#   benches/throughput.sh [SIZE_MB] [RUNS]      (defaults: 500 MB, best of 3)
#
# Generates (never commits) ~SIZE_MB of clean source-like text and ~SIZE_MB dense with
# tokens in a temp folder, builds the release binary, times both tools on both files (best
# of RUNS, files warm in the page cache), prints GB/s and the ratios, and the peak memory of
# tokenguard on a sparse file of several GB without a newline. Needs python3 and GNU time
# (/usr/bin/time) for the memory line. See docs/benchmarks.md.
set -eu
SIZE=${1:-500}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tg-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
REGEX='dt0[a-zA-Z]{1}[0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64}'

(cd "$ROOT" && cargo build --release --quiet)
TG="$ROOT/target/release/tokenguard"
python3 "$HERE/gen.py" clean "$SIZE" "$WORK/clean.txt"
python3 "$HERE/gen.py" dense "$SIZE" "$WORK/dense.txt"

python3 - "$TG" "$WORK" "$RUNS" "$REGEX" <<'PY'
import os, subprocess, sys, time
tg, work, runs, regex = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def best(cmd):
    # Output goes through a pipe to `cat >/dev/null`: not to /dev/null itself (GNU grep stops
    # at the first match there), and not into Python (reading a report of 200 MB through
    # Python's pipe would time Python, not the scanner).
    b = None
    for _ in range(runs):
        s = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        c = subprocess.Popen(["cat"], stdin=p.stdout, stdout=subprocess.DEVNULL)
        p.stdout.close()
        p.wait()
        c.wait()
        t = time.perf_counter() - s
        b = t if b is None else min(b, t)
    return b
print(f"{'file':<6} {'MB':>6} {'tokenguard s':>13} {'grep s':>8} {'tg GB/s':>8} {'grep GB/s':>10} {'ratio':>7}")
for f in ("clean", "dense"):
    path = os.path.join(work, f + ".txt")
    with open(path, "rb") as fh:  # warm the page cache
        while fh.read(1 << 24):
            pass
    size = os.path.getsize(path)
    t = best([tg, "scan", path])
    t1 = best(["env", "RAYON_NUM_THREADS=1", tg, "scan", path])
    g = best(["grep", "-cE", regex, path])
    print(f"{f:<6} {size/1e6:>6.0f} {t:>13.3f} {g:>8.3f} {size/t/1e9:>8.2f} {size/g/1e9:>10.2f} {g/t:>6.1f}x")
    print(f"{'':<6} {'':>6} {t1:>13.3f} {'':>8} {size/t1/1e9:>8.2f} {'':>10} {g/t1:>6.1f}x  (one thread)")
print("ratio = grep time / tokenguard time (> 1: tokenguard is faster); best of", runs)
PY

if [ -x /usr/bin/time ]; then
    big="$WORK/sparse.bin"
    truncate -s 4G "$big"
    printf ' T=dt0c01.%s.%s ' "UJZDE8GXD6NCF10EPF91DHOD" \
        "ZDOC9IS0J8HT9LGMXG9EDN581U33XTPLPFT75V2SEH60KVJ50CE9UVW53EFR4EDT" >>"$big" # tokenguard:allow
    /usr/bin/time -f 'sparse 4 GB, one line, token at the end: %e s, peak RSS %M KB' \
        "$TG" scan --format json "$big" | grep -c '"rule"' | sed 's/^/findings: /'
fi

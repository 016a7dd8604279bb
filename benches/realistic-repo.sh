#!/usr/bin/env bash
# Builds a "realistic" repository for benches/history.sh: real code with real diffs, made of
# successive published versions of a few large crates from crates.io. Each commit replaces one
# crate's folder with its next version (crates interleaved, oldest versions first), then the
# repository is packed with `git gc --aggressive`-like deltas (`git gc`).
#
#   benches/realistic-repo.sh DIR            build DIR (a bare repository) and print its path
#   benches/history.sh DIR                   then time the history scan on it
#
# Environment: CRATES (default "syn serde regex tokio"), VERSIONS (newest N versions of each,
# default 150), CACHE (downloaded .crate files, default ~/.cache/tokenguard-bench/crates).
# Needs curl, python3, git; reaches index.crates.io and static.crates.io. The repository is
# generated data: never commit it.
set -euo pipefail

out=${1:?usage: benches/realistic-repo.sh DIR}
crates=${CRATES:-syn serde regex tokio}
versions=${VERSIONS:-150}
cache=${CACHE:-$HOME/.cache/tokenguard-bench/crates}
mkdir -p "$cache"
[[ -e $out ]] && { echo "$out exists; remove it first" >&2; exit 2; }

index_path() { # crates.io sparse index layout
    local n=$1
    case ${#n} in
        1) echo "1/$n" ;;
        2) echo "2/$n" ;;
        3) echo "3/${n:0:1}/$n" ;;
        *) echo "${n:0:2}/${n:2:2}/$n" ;;
    esac
}

list=$(mktemp)
trap 'rm -f "$list"' EXIT
for c in $crates; do
    # Non-yanked, non-prerelease versions in semver order, the newest $versions of them.
    curl -fsSL "https://index.crates.io/$(index_path "$c")" | python3 -c '
import json, sys
name, n = sys.argv[1], int(sys.argv[2])
vs = [json.loads(l) for l in sys.stdin if l.strip()]
vs = [v["vers"] for v in vs if not v.get("yanked") and "-" not in v["vers"]]
vs.sort(key=lambda v: tuple(int(x) for x in v.split("+")[0].split(".")))
for i, v in enumerate(vs[-n:]):
    print(i, name, v)
' "$c" "$versions" >>"$list"
done
sort -n -s -k1,1 "$list" -o "$list"
total=$(wc -l <"$list")
echo "downloading up to $total crate versions into $cache" >&2
while read -r _ c v; do
    f=$cache/$c-$v.crate
    [[ -s $f ]] || curl -fsSL "https://static.crates.io/crates/$c/$c-$v.crate" -o "$f"
done <"$list"

git init -q --bare "$out"
work=$(mktemp -d)
trap 'rm -f "$list"; rm -rf "$work"' EXIT
export GIT_DIR=$out GIT_WORK_TREE=$work/tree GIT_INDEX_FILE=$work/index
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$work/tree"
t=1500000000
parent=
while read -r _ c v; do
    rm -rf "${work:?}/tree/$c"
    mkdir -p "$work/tree/$c"
    tar -xzf "$cache/$c-$v.crate" -C "$work/tree/$c" --strip-components=1
    # Files that are not source (the registry's own metadata) would be noise in every diff.
    rm -f "$work/tree/$c/.cargo_vcs_info.json" "$work/tree/$c/Cargo.toml.orig"
    git add -A .
    t=$((t + 3600))
    export GIT_AUTHOR_DATE="$t +0000" GIT_COMMITTER_DATE="$t +0000"
    tree=$(git write-tree)
    parent=$(git commit-tree "$tree" ${parent:+-p "$parent"} -m "$c $v")
done <"$list"
git update-ref refs/heads/main "$parent"
git symbolic-ref HEAD refs/heads/main
unset GIT_WORK_TREE GIT_INDEX_FILE
git gc -q --prune=now
echo "$out"

#!/usr/bin/env bash
# The logic of tokenguard's GitHub Action (action.yml): build tokenguard from the action's
# own checkout, scan the commits of this push or pull request (`tokenguard scan --ci`),
# write SARIF, a job summary and annotations, and exit 1 when tokens are found.
#
#   github-action.sh key      # prints `key=...` (cache key of the build) to $GITHUB_OUTPUT
#   github-action.sh install  # builds tokenguard into $TOKENGUARD_ROOT unless it is there
#   github-action.sh scan     # scans; exit 0 clean, 1 tokens found, 2 error
#
# Inputs come as the action passes them: INPUT_CONFIG, INPUT_BASELINE, INPUT_SARIF,
# INPUT_HTML, INPUT_WORKING_DIRECTORY; TOKENGUARD_BIN names a binary to use instead of building one.
# Runs outside GitHub too, given the variables GitHub sets (tests/ci.rs does so).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")
root=${TOKENGUARD_ROOT:-${RUNNER_TOOL_CACHE:-$HOME/.cache}/tokenguard-action}

say() { printf 'tokenguard-action: %s\n' "$*" >&2; }

output() { # NAME VALUE: a step output
    if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}

binary() {
    if [ -n "${TOKENGUARD_BIN:-}" ]; then
        printf '%s\n' "$TOKENGUARD_BIN"
    else
        printf '%s\n' "$root/bin/tokenguard"
    fi
}

case ${1:-} in
key)
    # The sources the binary is built from (the action's checkout has no .git to ask).
    sum=$(cd "$source_dir" && find Cargo.toml Cargo.lock build.rs src -type f -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
    output key "tokenguard-$(uname -s)-$(uname -m)-$sum"
    output root "$root"
    ;;
install)
    bin=$(binary)
    if [ -x "$bin" ]; then
        say "using $bin ($("$bin" --version))"
        exit 0
    fi
    command -v cargo >/dev/null 2>&1 ||
        { say "error: cargo is needed to build tokenguard (use a runner with Rust, or set the 'binary' input)"; exit 2; }
    say "building tokenguard from $source_dir (cached for the next runs)"
    cargo install --locked --quiet --path "$source_dir" --root "$root"
    "$root/bin/tokenguard" --version >&2
    ;;
scan)
    bin=$(binary)
    [ -x "$bin" ] || { say "error: no tokenguard at $bin (run the install step first)"; exit 2; }
    cd "${INPUT_WORKING_DIRECTORY:-${GITHUB_WORKSPACE:-.}}"
    args=(scan --ci)
    if [ -n "${INPUT_CONFIG:-}" ]; then args+=(--config "$INPUT_CONFIG"); fi
    if [ -n "${INPUT_BASELINE:-}" ]; then args+=(--baseline "$INPUT_BASELINE"); fi
    # pull_request_target checks out the base: a fork's head is not in the clone until fetched.
    if [ "${GITHUB_EVENT_NAME:-}" = pull_request_target ] && [ -n "${GITHUB_EVENT_PATH:-}" ]; then
        read -r number head < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pull_request"]; print(p["number"], p["head"]["sha"])' "$GITHUB_EVENT_PATH") || :
        if [ -n "${head:-}" ] && ! git cat-file -e "$head^{commit}" 2>/dev/null; then
            say "fetching the pull request's head (refs/pull/$number/head)"
            git fetch --quiet --no-tags origin "+refs/pull/$number/head:refs/remotes/pull/$number/head" || :
        fi
    fi
    tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/tokenguard.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # One scan for the log, the summary and annotations (JSON), one for SARIF.
    status=0
    "$bin" "${args[@]}" --format json --output "$tmp/report.json" 2>"$tmp/stderr" || status=$?
    cat "$tmp/stderr" >&2
    if [ "$status" -ge 2 ]; then
        say "error: the scan failed (exit $status); see the message above"
        exit 2
    fi
    if [ -n "${INPUT_SARIF:-}" ]; then
        sarif_status=0
        "$bin" "${args[@]}" --quiet --format sarif --output "$INPUT_SARIF" || sarif_status=$?
        [ "$sarif_status" -lt 2 ] || { say "error: writing SARIF failed"; exit 2; }
        output sarif "$(cd "$(dirname "$INPUT_SARIF")" && pwd)/$(basename "$INPUT_SARIF")"
    fi
    if [ -n "${INPUT_HTML:-}" ]; then
        html_status=0
        "$bin" "${args[@]}" --quiet --format html --output "$INPUT_HTML" || html_status=$?
        [ "$html_status" -lt 2 ] || { say "error: writing the HTML report failed"; exit 2; }
    fi
    scope=$(grep -m1 '^tokenguard: GitHub Actions: ' "$tmp/stderr" | sed 's/^tokenguard: GitHub Actions: //' || :)
    python3 "$here/github-report.py" "$tmp/report.json" "$scope" \
        "${GITHUB_STEP_SUMMARY:-/dev/null}" "${GITHUB_OUTPUT:-/dev/null}"
    exit "$status"
    ;;
*)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

# --- shared by every tokenguard hook (hooks/prelude.sh) ---
recorded_bin=@TOKENGUARD_BIN@
tokenguard_bin=
hook_dir=$(dirname "$0")
input=

feed() {
    if [ -n "$input" ]; then printf '%s\n' "$input"; fi
}

# Runs the hook that was here before tokenguard's (kept as $hook.local) with the same
# arguments and input; when it fails, so does this hook.
chain() {
    if [ -x "$hook_dir/$hook.local" ]; then
        feed | "$hook_dir/$hook.local" "$@" || exit $?
    fi
}

# Finds tokenguard: the binary that installed this hook, else `tokenguard` on PATH. Without
# one, the $what is refused (exit 2): it could not be checked.
find_tokenguard() {
    tokenguard_bin=$recorded_bin
    if [ ! -x "$tokenguard_bin" ]; then
        tokenguard_bin=$(command -v tokenguard 2>/dev/null) || tokenguard_bin=
    fi
    if [ -z "$tokenguard_bin" ]; then
        echo "tokenguard: the tokenguard binary is missing (not at $recorded_bin nor on PATH):" >&2
        echo "  the $what is refused because it could not be checked for API tokens." >&2
        echo "  Reinstall it:    $reinstall" >&2
        if [ -n "$skip" ]; then echo "  Skip this once:  $skip" >&2; fi
        echo "  Remove the hook: tokenguard uninstall --hook $hook (or delete $0)" >&2
        exit 2
    fi
}

# Runs `tokenguard ARGS...` with the hook's input; when it refuses, says which hook did.
check() {
    feed | "$tokenguard_bin" "$@"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "tokenguard: the $hook hook stopped the $what (exit $status)." >&2
    fi
    return "$status"
}
# --- end of the shared part ---

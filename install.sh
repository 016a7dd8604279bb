#!/bin/sh
# Builds and installs tokenguard, its shell completions and manual pages, then installs its
# git hooks in a repository.
#
#   ./install.sh [--prefix DIR] [--no-shell-files] [REPO]
#
# --prefix DIR      install the binary into DIR/bin (cargo install --root DIR) instead of
#                   cargo's default (~/.cargo/bin), completions and man pages into DIR/share
#                   instead of ~/.local/share (XDG_DATA_HOME)
# --no-shell-files  no completions and man pages (print the commands that place them)
# REPO              the repository to protect (default: the one of the current folder, if any)
#
# Needs only cargo and git. Safe to run again: cargo keeps an up-to-date binary, and
# `tokenguard install` leaves identical hooks untouched. See docs/install.md.
set -eu

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 2; }

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

prefix=
repo=
shell_files=yes
while [ $# -gt 0 ]; do
    case $1 in
        --prefix)
            [ $# -ge 2 ] || die "--prefix needs a folder"
            prefix=$2
            shift 2
            ;;
        --prefix=*)
            prefix=${1#--prefix=}
            shift
            ;;
        --no-shell-files)
            shell_files=no
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        --)
            shift
            break
            ;;
        -*) die "unknown option: $1 (see ./install.sh --help)" ;;
        *)
            [ -z "$repo" ] || die "give one repository at most (see ./install.sh --help)"
            repo=$1
            shift
            ;;
    esac
done
if [ $# -gt 0 ]; then
    [ -z "$repo" ] && [ $# -eq 1 ] || die "give one repository at most (see ./install.sh --help)"
    repo=$1
fi

command -v cargo >/dev/null 2>&1 ||
    die "cargo was not found on PATH. Install Rust (see https://rustup.rs), open a new shell, and run ./install.sh again."
command -v git >/dev/null 2>&1 ||
    die "git was not found on PATH. Install git, then run ./install.sh again."

src=$(cd "$(dirname "$0")" && pwd)
[ -f "$src/Cargo.toml" ] || die "run install.sh from tokenguard's source folder (no Cargo.toml next to it)"

if [ -n "$prefix" ]; then
    case $prefix in
        /*) ;;
        *) prefix=$(pwd)/$prefix ;;
    esac
    say "building and installing tokenguard: cargo install --locked --path $src --root $prefix"
    cargo install --locked --path "$src" --root "$prefix"
    bin=$prefix/bin/tokenguard
else
    say "building and installing tokenguard: cargo install --locked --path $src"
    cargo install --locked --path "$src"
    bin=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/tokenguard
    if [ ! -x "$bin" ]; then
        # install.root set in cargo's configuration: trust PATH.
        bin=$(command -v tokenguard 2>/dev/null) || bin=
    fi
fi
[ -n "$bin" ] && [ -x "$bin" ] || die "cargo install finished but tokenguard was not found where cargo puts it"
say "tokenguard is installed: $bin"
case ":$PATH:" in
    *":$(dirname "$bin"):"*) ;;
    *) say "note: $(dirname "$bin") is not on PATH; the hook records the full path, so it works anyway. Add it to PATH to run tokenguard by hand." ;;
esac

# Completions and man pages where shells and man look for them: bash-completion's user or
# system folder, zsh's site-functions, fish's vendor completions, man1. Never fatal: the
# binary is installed; a folder that cannot be written gets the command that places the file.
if [ -n "$prefix" ]; then share=$prefix/share; else share=${XDG_DATA_HOME:-$HOME/.local/share}; fi
placed=
place() { # FILE COMMAND...: runs COMMAND into FILE
    file=$1
    shift
    if [ "$shell_files" = yes ] && mkdir -p "$(dirname "$file")" 2>/dev/null &&
        "$@" >"$file.tmp" 2>/dev/null && mv -f "$file.tmp" "$file"; then
        placed="$placed $file"
        say "installed $file"
    else
        rm -f "$file.tmp" 2>/dev/null || :
        say "to install $(basename "$file"): $* > $file"
    fi
}
place "$share/bash-completion/completions/tokenguard" "$bin" completions bash
place "$share/zsh/site-functions/_tokenguard" "$bin" completions zsh
place "$share/fish/vendor_completions.d/tokenguard.fish" "$bin" completions fish
place "$share/man/man1/tokenguard.1" "$bin" manpage
if [ "$shell_files" = yes ] && [ -f "$share/man/man1/tokenguard.1" ]; then
    "$bin" manpage --dir "$share/man/man1" ||
        say "the per-command pages were not written: $bin manpage --dir $share/man/man1"
fi
case " $placed " in
    *"/zsh/site-functions/_tokenguard "*)
        say "zsh: if completion does not work, add 'fpath+=($share/zsh/site-functions)' before compinit in ~/.zshrc" ;;
esac
case " $placed " in
    *"/man1/tokenguard.1 "*)
        say "man: if \`man tokenguard\` finds nothing, add $share/man to MANPATH" ;;
esac
say "PowerShell: tokenguard completions powershell >> \$PROFILE"

if [ -n "$repo" ]; then
    [ -d "$repo" ] || die "no such folder: $repo"
    "$bin" install -C "$repo"
elif git rev-parse --git-dir >/dev/null 2>&1; then
    "$bin" install
else
    say "the current folder is not in a git repository: no hook installed."
    say "to protect a repository: ./install.sh REPO, or run \`tokenguard install\` inside it."
fi

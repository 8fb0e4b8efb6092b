#!/bin/sh
# deps.sh - installs what the build and the tests need: `make deps` (the build,
# make test, make check, make sanitize) and `make deps-all` (adds what the
# optional targets need: clang's sanitizer and fuzzing runtimes, ARM cross
# builds under qemu, OpenBLAS, the scaling-out and load tests, valgrind).
#   sh tools/deps.sh [--all] [--list]
# On Debian and Ubuntu it installs only what is missing (apt-get, then npm ci
# in each tests/ folder with a package.json) and says what; run again, it
# installs nothing. Elsewhere, or with --list, it prints the lists and, for
# elsewhere, exits 1. This file is the one list: .ci/run calls it, and every
# test that needs a tool fails naming `make deps` when it is missing.
set -eu
cd "$(dirname "$0")/.."

# Debian package: why (one per line; the first word is the package, PKG/CMD when
# a CMD already on PATH will do, e.g. Node.js from nodesource or nvm).
CORE='build-essential      gcc, make, libc headers, binutils (nm)
git                  results files name the commit the build came from
python3              ../shared/ref generators, test helpers
python3-numpy        the Python binding test with numpy
python3-jsonschema   saved results against docs/schemas
python3-torch        the reference writes bge-m3'"'"'s .pt heads and .bin checkpoints (/usr/bin/python3)
curl                 the server tests
ca-certificates      npm over https
nodejs/node          real clients (openai), the Hugging Face tokenizers reference
npm/npm              installs those clients (tests/*/package.json)
unicode-data         the tokenizer tables are checked against the UCD
prometheus           promtool checks the /metrics output
sqlite3              BM25 compared with SQLite FTS5
man-db               man pages are the search tests corpus
manpages             (section 7)
chromium             renders the status page headless'
ALL='clang                the second compiler, make tsan, make fuzz
pkg-config           the install smoke test
file                 checks static builds
libopenblas-dev      make BLAS=openblas
gcc-aarch64-linux-gnu    make test-arm (AArch64)
libc6-dev-arm64-cross    (its libc)
gcc-arm-linux-gnueabihf  make test-arm (ARMv7)
libc6-dev-armhf-cross    (its libc)
qemu-user            runs the ARM builds
parallel             make test-scaling (GNU parallel --pipe)
nginx-light          make test-scaling (two servers behind nginx)
wrk                  make test-scaling, make loadtest, make soak
valgrind             make valgrind'
# npm folders: each tests/X/package.json, installed from its package-lock.json.
NPM_DIRS=$(for p in tests/*/package.json; do dirname "$p"; done)

all=0 list=0
for a in "$@"; do
    case "$a" in
    --all) all=1 ;;
    --list) list=1 ;;
    *) echo "usage: sh tools/deps.sh [--all] [--list]" >&2; exit 2 ;;
    esac
done
wanted() { # the package names for this run
    echo "$CORE" | awk '{print $1}'
    [ "$all" -eq 0 ] || echo "$ALL" | awk '{print $1}'
}
print_lists() {
    echo "Debian/Ubuntu packages (apt-get install):"
    echo "$CORE" | sed 's/^/  /'
    [ "$all" -eq 0 ] || echo "$ALL" | sed 's/^/  /'
    [ "$all" -eq 0 ] || echo "  libclang-rt-N-dev    clang's sanitizer and libFuzzer runtimes (N: clang's major version)"
    echo "npm packages (npm ci --prefix DIR, node >= 18):"
    for d in $NPM_DIRS; do echo "  $d: $(sed -n 's/^    "\([^"]*\)": "\([^"]*\)".*/\1@\2/p' "$d/package.json" | tr '\n' ' ')"; done
}
if [ "$list" -eq 1 ]; then print_lists; exit 0; fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: this is not a Debian or Ubuntu machine; install these with its package manager:" >&2
    print_lists >&2
    exit 1
fi

installed() { # PKG or PKG/CMD
    case "$1" in */*) command -v "${1#*/}" >/dev/null 2>&1 && return 0 ;; esac
    dpkg-query -W -f='${Status}' "${1%/*}" 2>/dev/null | grep -q 'install ok installed'
}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps.sh: not root and no sudo: run it as root" >&2; exit 1; }
    SUDO=sudo
fi
apt_install() { # packages...
    [ $# -gt 0 ] || return 0
    echo "deps.sh: installing $*"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
missing=""
for p in $(wanted); do installed "$p" || missing="$missing ${p%/*}"; done
# shellcheck disable=SC2086
apt_install $missing
if [ "$all" -eq 1 ]; then
    # The sanitizer and libFuzzer runtimes are packaged per clang version.
    rt="libclang-rt-$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)-dev"
    if ! installed "$rt"; then
        if apt-cache show "$rt" >/dev/null 2>&1; then apt_install "$rt"
        else echo "deps.sh: no package $rt; clang's runtimes should have come with clang"; fi
    fi
fi
[ -n "$missing" ] || echo "deps.sh: every Debian package is installed"

for d in $NPM_DIRS; do
    # npm ci writes node_modules/.package-lock.json: newer than the lock file = done.
    if [ -f "$d/node_modules/.package-lock.json" ] && [ ! "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
        echo "deps.sh: $d: npm packages are installed"
    else
        echo "deps.sh: $d: npm ci"
        npm ci --prefix "$d" --no-audit --no-fund --loglevel=error
    fi
done

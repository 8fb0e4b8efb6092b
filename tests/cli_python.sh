#!/bin/sh
# cli_python.sh - the Python binding against libtinyembed.so (make shared):
# tests/test_python.py with every Python at hand, with numpy (Debian's
# /usr/bin/python3 with python3-numpy, which .ci/run installs) and without.
. "$(dirname "$0")/cli_lib.sh"
export TE_BUILD="${TE_BIN%/*}"
check "libtinyembed.so exports only the functions tinyembed.h declares" sh -c '
    nm -D --defined-only "$TE_BUILD/libtinyembed.so" | awk "{print \$3}" | sort > "$0/so.syms"
    sed -n "s/^[a-z_ ]*[ *]\(te_[a-z0-9_]*\)(.*/\1/p" include/tinyembed.h | sort -u > "$0/h.syms"
    cmp -s "$0/so.syms" "$0/h.syms"' "$WORK"
python3 tests/test_python.py --no-numpy || FAILED=1
numpy_python=""
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import numpy' 2>/dev/null; then numpy_python=$py; break; fi
done
check "a Python with numpy is at hand (.ci/run installs python3-numpy)" test -n "$numpy_python"
[ -n "$numpy_python" ] && { "$numpy_python" tests/test_python.py || FAILED=1; }
finish

#!/bin/sh
# cli_python.sh - the Python binding against libtinyembed.so (make shared):
# tests/test_python.py with every Python at hand, with numpy (Debian's
# /usr/bin/python3 with python3-numpy, which make deps installs) and without.
. "$(dirname "$0")/cli_lib.sh"
export TE_BUILD="${TE_BIN%/*}"
check "libtinyembed.so exports only the functions the public headers declare" sh -c '
    nm -D --defined-only "$TE_BUILD/libtinyembed.so" | awk "{print \$3}" | sort > "$0/so.syms"
    sed -n "s/^[a-z_ ]*[ *]\(te_[a-z0-9_]*\)(.*/\1/p" include/*.h | sort -u > "$0/h.syms"
    cmp -s "$0/so.syms" "$0/h.syms"' "$WORK"
python3 tests/test_python.py --no-numpy || FAILED=1
numpy_python=$(python_with numpy)
check "a Python with numpy is at hand (make deps installs python3-numpy)" "$numpy_python" -c 'import numpy'
"$numpy_python" -c 'import numpy' 2>/dev/null && { "$numpy_python" tests/test_python.py || FAILED=1; }
finish

#!/bin/sh
# memtest.sh - a small device's memory: `embed` of one short text with the
# int8 MiniLM-shaped model under `ulimit -v` of the model file's size + 24 MB
# (address space: the mapping, the binary, the libraries, the threads' stacks
# and the scratch all count), with --max-memory 16M bounding the scratch; and
# the same vector as without any bound. Not part of `make test`: sanitizer
# builds reserve terabytes of address space. `make memtest` runs it.
#   sh tests/memtest.sh BUILD_DIR
. "$(dirname "$0")/cli_lib.sh"
B=$1
M="$B/testdata/minilm-mean-int8.temb"
limit=$(( $(stat -c %s "$M") / 1024 + 24 * 1024 ))
echo "  ulimit -v $limit KB (the $(stat -c %s "$M")-byte model + 24 MB)"
"$B/tinyembed" embed -m "$M" "The cat sits outside" > "$WORK/free.json"
(ulimit -v "$limit" && "$B/tinyembed" embed -m "$M" --max-memory 16M -t 2 "The cat sits outside") > "$WORK/bounded.json" 2>"$WORK/err"
check "embed --max-memory 16M runs within the limit" test -s "$WORK/bounded.json"
check "and gives the same vector as without a bound" cmp -s "$WORK/free.json" "$WORK/bounded.json"
(ulimit -v "$limit" && "$B/tinyembed" embed -m "$M" -t 2 "The cat sits outside") > /dev/null 2>"$WORK/err"
check "without --max-memory the default 4,096-token scratch does not fit (the bound is what makes it fit)" \
    grep -q "out of memory for the context's scratch" "$WORK/err"
finish

#!/bin/sh
# memtest.sh - a small device's memory: `embed` of one short text with the
# int8 MiniLM-shaped model under `ulimit -v` of the model file's size + 24 MB
# (address space: the mapping, the binary, the libraries, the threads' stacks
# and the scratch all count), with --max-memory 16M bounding the scratch; and
# the same vector as without any bound; full 4,096-token batches fail cleanly
# without the bound (their scratch cannot grow that far) and run with it. Not part of `make test`: sanitizer
# builds reserve terabytes of address space. `make memtest` runs it.
#   sh tests/memtest.sh BUILD_DIR
. "$(dirname "$0")/cli_lib.sh"
B=$1
M="$B/testdata/minilm-mean-int8.temb"
limit=$(( $(stat -c %s "$M") / 1024 + 24 * 1024 ))
echo "  ulimit -v $limit KB (the $(stat -c %s "$M")-byte model + 24 MB)"
# One short text: the scratch grows only to what it needs, so it fits without a bound.
"$B/tinyembed" embed -m "$M" "The cat sits outside" > "$WORK/free.json"
(ulimit -v "$limit" && "$B/tinyembed" embed -m "$M" -t 2 "The cat sits outside") > "$WORK/short.json" 2>"$WORK/err"
check "one short text fits without --max-memory (scratch grows with the call)" cmp -s "$WORK/free.json" "$WORK/short.json"
(ulimit -v "$limit" && "$B/tinyembed" embed -m "$M" --max-memory 16M -t 2 "The cat sits outside") > "$WORK/bounded.json" 2>"$WORK/err"
check "embed --max-memory 16M runs within the limit" test -s "$WORK/bounded.json"
check "and gives the same vector as without a bound" cmp -s "$WORK/free.json" "$WORK/bounded.json"
# 64 texts of about 130 tokens: full 4,096-token passes, whose scratch (27 MB) does not fit.
s="The quick brown fox jumps over the lazy dog near the river bank today."
for i in $(seq 64); do echo "$i $s $s $s $s $s $s $s $s"; done > "$WORK/long.txt"
"$B/tinyembed" embed -m "$M" < "$WORK/long.txt" > "$WORK/long_free.json"
(ulimit -v "$limit" && "$B/tinyembed" embed -m "$M" -t 2 < "$WORK/long.txt") > /dev/null 2>"$WORK/err"
check "without --max-memory, full batches fail with a clear error when their scratch cannot grow" \
    grep -q "out of memory growing the context's scratch to [0-9]* tokens per batch" "$WORK/err"
(ulimit -v "$limit" && "$B/tinyembed" embed -m "$M" --max-memory 16M -t 2 < "$WORK/long.txt") > "$WORK/long_bounded.json" 2>"$WORK/err"
check "with --max-memory 16M they run within the limit, fewer tokens per pass" test -s "$WORK/long_bounded.json"
check "and give the same vectors as without a bound" cmp -s "$WORK/long_free.json" "$WORK/long_bounded.json"
finish

#!/bin/sh
# amalgamation.sh - the one-file library (make amalgamation) builds alone,
# with exactly the command its header comment gives, on gcc and clang, and
# the embedding goldens (f32, int8, f16, bf16, every kernel set this CPU has) pass
# through it: tests/test_forward.c linked against it instead of the library.
#   sh tests/amalgamation.sh BUILD_DIR
. "$(dirname "$0")/cli_lib.sh"
B=$1
A="$B/amalgamation"
for h in include/*.h; do
    check "$(basename "$h") beside it is the public header" cmp -s "$A/$(basename "$h")" "$h"
done
check "no internal #include is left" sh -c "! grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*\"' '$A/tinyembed.c'"
for cc in gcc clang; do
    mkdir "$WORK/$cc"
    cp "$A/tinyembed.c" "$WORK/$cc/"
    expect_rc 0 "$cc: cc -std=c11 -O2 -Wall -Werror -c tinyembed.c, alone in a directory" \
        sh -c "cd '$WORK/$cc' && $cc -std=c11 -O2 -Wall -Werror -c tinyembed.c"
    expect_rc 0 "$cc: tests/test_forward.c links against it" \
        $cc -std=c11 -O2 -Wall -Werror -D_GNU_SOURCE -I"$A" -Isrc -Itests tests/test_forward.c "$WORK/$cc/tinyembed.o" \
        -o "$WORK/$cc/test_forward" -lm -pthread
    TH_ONLY=golden_tiny_mean,golden_tiny_cls,golden_minilm_mean,int8_goldens,f16_goldens,bf16_goldens \
        "$WORK/$cc/test_forward" > "$WORK/$cc/log" 2>&1
    check "$cc: the embedding goldens pass through the amalgamation ($(grep -c '^PASS' "$WORK/$cc/log") of 6)" \
        test "$(grep -c '^PASS' "$WORK/$cc/log")" -eq 6
    grep -q '^FAIL' "$WORK/$cc/log" && cat "$WORK/$cc/log"
done
finish

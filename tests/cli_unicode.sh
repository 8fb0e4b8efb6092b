#!/bin/sh
# cli_unicode.sh - src/unicode_tables.c is what tools/gen_unicode.py makes
# from the Unicode 15.0 database (Debian package unicode-data).
. "$(dirname "$0")/cli_lib.sh"
if [ ! -f /usr/share/unicode/UnicodeData.txt ]; then
    fail "unicode tables are current: /usr/share/unicode is missing (make deps installs unicode-data)"
    finish
fi
python3 tools/gen_unicode.py /usr/share/unicode > "$WORK/tables.c" 2>"$WORK/err"
check "generator runs on the installed UCD" test -s "$WORK/tables.c"
check "committed src/unicode_tables.c is current" cmp -s "$WORK/tables.c" src/unicode_tables.c
finish

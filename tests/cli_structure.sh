#!/bin/sh
# cli_structure.sh - the shape of the code (tests/structure.py) on this
# build's object files: no circles among the units of src/ and tools/, the
# programs on the public API only, no function over 80 lines.
python3 tests/structure.py "$(dirname "$TE_BIN")"

#!/bin/sh
# cli_tokdiff.sh - the tokenizer against the Hugging Face tokenizers library
# (tests/tokdiff/): every code point of planes 0 and 1 between two letters,
# then a 20,000-input slice of random and adversarial byte strings (invalid
# UTF-8 included). The ids must be identical. `make tokdiff` runs every
# plane and 1,000,000 inputs.
sh tests/tokdiff/run.sh "$(dirname "$TE_BIN")/tests/tokdiff" "$TE_TESTDATA/tiny-mean.temb" \
    "$TE_REF/minilm-tokenizer/tokenizer.json" 20000 1

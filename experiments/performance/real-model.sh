#!/usr/bin/env bash
# CPU speed of llamacl next to llama.cpp on a real downloaded model: Qwen2.5-Coder-0.5B-Instruct
# Q4_K_M (Q4_K, Q5_0, Q6_K and Q8_0 tensors, 151,936-token vocabulary), fetched by
# scripts/fetch-models.sh. Same file, same threads, the two engines alternating in rounds.
#
#   LLAMA_CPP_BIN=$(scripts/llamacpp/build.sh) experiments/performance/real-model.sh
#
# Rows: pp128 and tg32 (`llamacl bench` / `llama-bench`, ROUNDS rounds of REPS repetitions each),
# then batched generation with a shared 64-token prompt, B = 1, 4, 16, 32 generated tokens per
# sample (`bench --batch` / `llama-batched-bench -pps`), alternating engines per round too.
# Results go to $OUT (default results-real/), with perf-report's table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LLAMACL=${LLAMACL:-$root/.build/release/llamacl}
OUT=${OUT:-$here/results-real}
THREADS=${THREADS:-2}
REPS=${REPS:-2}
ROUNDS=${ROUNDS:-3}
LLAMA_CPP_BIN=${LLAMA_CPP_BIN:?set LLAMA_CPP_BIN to the bin directory scripts/llamacpp/build.sh prints}
export LD_LIBRARY_PATH="$LLAMA_CPP_BIN:${LD_LIBRARY_PATH:-}"

[ -x "$LLAMACL" ] || (cd "$root" && swift build -c release --product llamacl)
MODEL=$("$root/scripts/fetch-models.sh" qwen2.5-coder-0.5b)
m=$(basename "$MODEL" .gguf)
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/batched-*.txt
"$LLAMACL" --version > "$OUT/engine-version.txt"
"$LLAMACL" machine -t "$THREADS" --json > "$OUT/machine.json"

ours=() theirs=()
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS" >&2
    "$LLAMACL" bench -m "$MODEL" -p 128 -n 32 -r "$REPS" -t "$THREADS" --json > "$OUT/llamacl-$m-$round.json"
    "$LLAMA_CPP_BIN/llama-bench" -m "$MODEL" -p 128 -n 32 -r "$REPS" -t "$THREADS" -o json 2> /dev/null > "$OUT/llamacpp-$m-$round.json"
    ours+=("$OUT/llamacl-$m-$round.json") theirs+=("$OUT/llamacpp-$m-$round.json")
    # Batched: 4 rows per engine and round (B = 1, 4, 16), aggregate generated tokens/s.
    "$LLAMACL" bench -m "$MODEL" --batch 1,4,16 -p 64 -n 32 -t "$THREADS" > "$OUT/batched-llamacl-$round.txt"
    "$LLAMA_CPP_BIN/llama-batched-bench" -m "$MODEL" -c 4096 -npp 64 -ntg 32 -npl 1,4,16 -pps -t "$THREADS" 2> /dev/null \
        | grep '^|' > "$OUT/batched-llamacpp-$round.txt"
done
"$LLAMACL" perf-report --machine "$OUT/machine.json" --ours "${ours[@]}" --llamacpp "${theirs[@]}" --out "$OUT"
tail -n +1 "$OUT"/batched-*.txt

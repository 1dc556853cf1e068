#!/usr/bin/env bash
# CPU speed of llamacl next to llama.cpp: same machine, same model files, same thread count,
# the two engines alternating model by model, in rounds, so that both see the same machine load.
#
#   LLAMA_CPP_BIN=/path/to/llama.cpp/build/bin experiments/performance/run.sh
#
# LLAMA_CPP_BIN: a directory with llama-bench, llama-batched-bench and llama-quantize, built
# outside this repository (e.g. from the llama-cpp-python sdist, which vendors llama.cpp).
# Without it only llamacl is measured. Models are random-weight files of real shapes, written
# by `llamacl synth` into $PERF_MODELS (not committed; 4.6 GB). Results go to $OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LLAMACL=${LLAMACL:-$root/.build/release/llamacl}
MODELS=${PERF_MODELS:-$root/.perf-models}
OUT=${OUT:-$here/results}
THREADS=${THREADS:-2}
REPS=${REPS:-2}
ROUNDS=${ROUNDS:-4}
LLAMA_CPP_BIN=${LLAMA_CPP_BIN:-}
export LD_LIBRARY_PATH="${LLAMA_CPP_BIN:+$LLAMA_CPP_BIN:}${LD_LIBRARY_PATH:-}"

[ -x "$LLAMACL" ] || (cd "$root" && swift build -c release --product llamacl)
mkdir -p "$MODELS" "$OUT"

synth() {  # name shape type
    [ -f "$MODELS/$1.gguf" ] || "$LLAMACL" synth --shape "$2" --type "$3" --out "$MODELS/$1.gguf" > /dev/null
}
synth tinyllama-Q4_0 TinyLlama-1.1B Q4_0
synth tinyllama-Q8_0 TinyLlama-1.1B Q8_0
synth tinyllama-F16 TinyLlama-1.1B F16
synth stories110M-Q8_0 stories110M Q8_0
models="tinyllama-Q4_0 tinyllama-Q8_0 tinyllama-F16 stories110M-Q8_0"
# Q4_K_M mixes Q4_K and Q6_K tensors by llama.cpp's rules: made by llama-quantize from the F16 file.
if [ -n "$LLAMA_CPP_BIN" ]; then
    [ -f "$MODELS/tinyllama-Q4_K_M.gguf" ] || "$LLAMA_CPP_BIN/llama-quantize" "$MODELS/tinyllama-F16.gguf" "$MODELS/tinyllama-Q4_K_M.gguf" Q4_K_M "$THREADS" > /dev/null 2>&1
    models="tinyllama-Q4_0 tinyllama-Q4_K_M tinyllama-Q8_0 tinyllama-F16 stories110M-Q8_0"
fi

"$LLAMACL" machine -t "$THREADS" --json > "$OUT/machine.json"
"$LLAMACL" machine -t "$THREADS"

# Rounds: every model on both engines, then again; the table pairs round i of one engine with
# round i of the other, so the machine's drift (this host is shared) falls on both alike.
rm -f "$OUT"/llamacl-*.json "$OUT"/llamacpp-*.json
ours=() theirs=()
for round in $(seq 1 "$ROUNDS"); do
    for m in $models; do
        echo "== round $round/$ROUNDS: $m"
        "$LLAMACL" bench -m "$MODELS/$m.gguf" -p 128 -n 32 -r "$REPS" -t "$THREADS" --json > "$OUT/llamacl-$m-$round.json"
        ours+=("$OUT/llamacl-$m-$round.json")
        if [ -n "$LLAMA_CPP_BIN" ]; then
            "$LLAMA_CPP_BIN/llama-bench" -m "$MODELS/$m.gguf" -p 128 -n 32 -r "$REPS" -t "$THREADS" -o json 2> /dev/null > "$OUT/llamacpp-$m-$round.json"
            theirs+=("$OUT/llamacpp-$m-$round.json")
        fi
    done
    # Long context: generation after 1024 cached tokens, where attention reads the cache at every step.
    m=tinyllama-Q4_0
    "$LLAMACL" bench -m "$MODELS/$m.gguf" -p 0 -n 32 -d 1024 -r "$REPS" -t "$THREADS" --json > "$OUT/llamacl-$m-d1024-$round.json"
    ours+=("$OUT/llamacl-$m-d1024-$round.json")
    if [ -n "$LLAMA_CPP_BIN" ]; then
        "$LLAMA_CPP_BIN/llama-bench" -m "$MODELS/$m.gguf" -p 0 -n 32 -d 1024 -r "$REPS" -t "$THREADS" -o json 2> /dev/null > "$OUT/llamacpp-$m-d1024-$round.json"
        theirs+=("$OUT/llamacpp-$m-d1024-$round.json")
    fi
done

# Batched generation with a shared prompt: B samples decode together (llama-batched-bench -pps).
"$LLAMACL" bench -m "$MODELS/tinyllama-Q4_0.gguf" --batch 1,4,16,64 -p 64 -n 32 -t "$THREADS" > "$OUT/batched-llamacl.txt"
if [ -n "$LLAMA_CPP_BIN" ]; then
    "$LLAMA_CPP_BIN/llama-batched-bench" -m "$MODELS/tinyllama-Q4_0.gguf" -c 4096 -npp 64 -ntg 32 -npl 1,4,16,64 -pps -t "$THREADS" 2> /dev/null \
        | grep '^|' > "$OUT/batched-llamacpp.txt"
fi

# Memory: peak RSS of a generation run against model + KV cache.
"$LLAMACL" bench -m "$MODELS/tinyllama-Q4_0.gguf" -p 0 -n 32 -r 1 -t "$THREADS" | tail -1 > "$OUT/memory.txt"

"$LLAMACL" perf-report --machine "$OUT/machine.json" --ours "${ours[@]}" ${theirs[@]:+--llamacpp "${theirs[@]}"} --out "$OUT"
cat "$OUT/batched-llamacl.txt" "$OUT/memory.txt"
[ -n "$LLAMA_CPP_BIN" ] && cat "$OUT/batched-llamacpp.txt"
exit 0

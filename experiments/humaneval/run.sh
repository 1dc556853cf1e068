#!/usr/bin/env bash
# HumanEval with Qwen2.5-Coder-Instruct (Q4_K_M GGUF) on the CPU: fetches the models and data
# (scripts/fetch-models.sh, into $LLAMACL_MODELS), then runs what experiments/humaneval/README.md
# reports. Re-running resumes every run where it stopped. Steps (default: all):
#
#   greedy       0.5B, greedy, all 164 problems                      runs/0.5b-greedy
#   prefix       0.5B, greedy, first 8 problems without the response prefix   runs/0.5b-greedy-no-prefix-first8
#   sampled      0.5B, 16 samples at temperature 0.8 (top-p 0.95, as EvalPlus samples),
#                max 512 tokens, on a seeded subset of $SUBSET problems        runs/0.5b-t0.8-n16
#   greedy-1.5b  1.5B, greedy, the same subset                           runs/1.5b-greedy-subset
#   compute-matched  0.5B × k against 1.5B × 1 at equal FLOPs, paired over problems   compute-matched/
#
#     experiments/humaneval/run.sh [STEP...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SUBSET=${SUBSET:-20}
THREADS=${THREADS:-}
steps=("$@"); (( ${#steps[@]} )) || steps=(greedy prefix sampled greedy-1.5b compute-matched)

swift build -c release --product llamacl >&2
LLAMACL=.build/release/llamacl
paths=$(scripts/fetch-models.sh qwen2.5-coder-0.5b qwen2.5-coder-1.5b humaneval)
M05=$(sed -n 1p <<<"$paths"); M15=$(sed -n 2p <<<"$paths"); DATA=$(sed -n 3p <<<"$paths")
OUT=experiments/humaneval/runs
common=(--task "humaneval=$DATA" ${THREADS:+--threads "$THREADS"})

for step in "${steps[@]}"; do
    case "$step" in
    greedy)
        "$LLAMACL" best-of-n -m "$M05" "${common[@]}" --problems 164 --n 1 --temp 0 --batch 16 --out "$OUT/0.5b-greedy" ;;
    prefix)
        first8=$(mktemp -d)/HumanEval-first8.jsonl
        gzip -dc "$DATA" | head -8 > "$first8"
        "$LLAMACL" best-of-n -m "$M05" --task "humaneval=$first8" --prompt-format no-response-prefix ${THREADS:+--threads "$THREADS"} \
            --problems 8 --n 1 --temp 0 --batch 8 --out "$OUT/0.5b-greedy-no-prefix-first8" ;;
    sampled)
        "$LLAMACL" best-of-n -m "$M05" "${common[@]}" --problems "$SUBSET" --n 16 --k 1,2,4,8,16 --temp 0.8 --top-p 0.95 \
            --max-tokens 512 --seed 0 --batch 16 --out "$OUT/0.5b-t0.8-n16" ;;
    greedy-1.5b)
        "$LLAMACL" best-of-n -m "$M15" "${common[@]}" --problems "$SUBSET" --n 1 --temp 0 --seed 0 --batch 16 --out "$OUT/1.5b-greedy-subset" ;;
    compute-matched)
        "$LLAMACL" compute-matched --run "0.5b=$OUT/0.5b-t0.8-n16" --run "1.5b=$OUT/1.5b-greedy-subset" --out experiments/humaneval/compute-matched ;;
    *) echo "unknown step '$step' (greedy, prefix, sampled, greedy-1.5b, compute-matched)" >&2; exit 2 ;;
    esac
done

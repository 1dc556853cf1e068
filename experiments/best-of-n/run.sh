#!/usr/bin/env bash
# Best-of-N on held-out 3-digit addition problems: N samples per problem decoded together over
# a shared prompt; pass@k, selection-rule accuracy vs k, compute totals and plots; plus the
# greedy (temperature 0) accuracy on the same problems.
# Usage: experiments/best-of-n/run.sh [MODEL.gguf] [OUT_DIR]
# Without a model it uses the built-in trained model (models/arithmetic.gguf) if present,
# else writes a random-weight stories15M-shaped model (then accuracy is ~0 by construction
# and the run shows cost scaling and reproducibility only).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup.sh
swift build -c release --product llamacl >/dev/null
bin=.build/release/llamacl
model="${1:-}"
out="${2:-experiments/best-of-n/results}"
if [ -z "$model" ]; then
  if [ -f models/arithmetic.gguf ]; then model=models/arithmetic.gguf
  else
    model=.build/bon-random-stories15M-q8_0.gguf
    [ -f "$model" ] || $bin synth --shape stories15M --type Q8_0 --seed 1 -o "$model"
  fi
fi
problems="${PROBLEMS:-500}"; n="${N:-16}"; seed="${SEED:-7}"
task=(--task arithmetic --digits 3 --operations "+")
cmd=($bin best-of-n -m "$model" "${task[@]}" --problems "$problems" --n "$n" --k 1,2,4,8,16 \
     --max-tokens 8 --temp 1.0 --seed "$seed" --batch 16 --out "$out/sampled")
greedy=($bin best-of-n -m "$model" "${task[@]}" --problems "$problems" --n 1 --k 1 \
        --max-tokens 8 --temp 0 --seed "$seed" --out "$out/greedy")
mkdir -p "$out"
printf '%s\n' "${cmd[*]}" "${greedy[*]}" > "$out/command.txt"
"${cmd[@]}"
"${greedy[@]}"

#!/usr/bin/env bash
# Best-of-N on built-in arithmetic problems: N samples per problem decoded together over a
# shared prompt; pass@k, selection-rule accuracy vs k, compute totals and plots.
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
problems="${PROBLEMS:-100}"; n="${N:-16}"; seed="${SEED:-1}"
cmd=($bin best-of-n -m "$model" --task arithmetic --problems "$problems" --n "$n" --k 1,2,4,8,16 \
     --max-tokens 8 --temp 1.0 --seed "$seed" --batch 16 --out "$out")
mkdir -p "$out"
echo "${cmd[*]}" > "$out/command.txt"
"${cmd[@]}"

#!/usr/bin/env bash
# The GPU check in one run, from a bundle made by scripts/gpu-bundle.sh (no Swift toolchain, no
# network needed), sized to fit one device command (10 minutes) of a 15-minute GPU lease:
#   1. devices; llama.cpp's llama-bench built with CUDA in the background (from the bundled
#      llama-cpp-python 0.3.36 source, only the GPU's architecture: CMAKE_CUDA_ARCHITECTURES=native,
#      or 90 with a CMake older than 3.24), while the next steps use the GPU;
#   2. models synthesized on the spot (random weights, real shapes: `llamacl synth`);
#   3. `llamacl verify` (every kernel against its CPU reference op, then the whole model);
#   4. `llamacl bench --backend opencl` (pp512/tg128, tg32 at depth 1024, batched decode, --profile);
#   5. `llama-bench` on the same GGUF files, fully offloaded (-ngl 99), once its build is done.
# Results in OUT_DIR: summary.md (device, driver, commands, both tools' tokens/s side by side),
# results.json (every JSON result), log.txt (each step's command, exit code and output tail) and
# raw.tar.gz (every step's full output): four files, what a device run can bring back.
#
# Usage: gpu-check.sh [OUT_DIR]                (default: ./gpu-check-out)
# Env:   LLAMACL_DEVICE   device index or name (default: first GPU)
#        MODELS           synthesized models to verify and bench (default: "tinyllama-q4_0 s110-q8_0";
#                         names: s15-q8_0, s110-q8_0, s110-q4_K, tinyllama-q4_0, tinyllama-q8_0)
#        CHECK_SECONDS    wall-clock budget of the whole script (default 560)
#        NO_LLAMA_CPP=1   skip llama.cpp (also skipped, with a note, when nvcc or cmake is missing)
set -uo pipefail

start_time=$SECONDS
deadline=$((SECONDS + ${CHECK_SECONDS:-560}))
left() { echo $((deadline - SECONDS)); }
bundle="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-gpu-check-out}" && cd "${1:-gpu-check-out}" && pwd)"
raw="$out/raw"
mkdir -p "$raw" "$out/models"
log="$out/log.txt"
: > "$log"
llamacl="$bundle/llamacl"
if [ ! -x "$llamacl" ] && [ -f "$bundle/llamacl.gz" ]; then
  mkdir -p "$out/bin" && gunzip -c "$bundle/llamacl.gz" > "$out/bin/llamacl" && chmod +x "$out/bin/llamacl"
  llamacl="$out/bin/llamacl"
fi
[ -x "$llamacl" ] || { echo "error: no llamacl or llamacl.gz in $bundle (make one with scripts/gpu-bundle.sh)" >&2; exit 2; }
export LD_LIBRARY_PATH="$bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Compiled kernels are cached here, so repeated runs show warm start-up.
export XDG_CACHE_HOME="$out/cache"
status=0
commands=()

say() { echo "$*" | tee -a "$log"; }

# --- make sure the loader can find the NVIDIA driver's OpenCL library ---------------------
find_nvidia_opencl() {
  local p
  p=$(ldconfig -p 2>/dev/null | awk '$1 == "libnvidia-opencl.so.1" { print $NF; exit }')
  [ -n "$p" ] && { echo "$p"; return; }
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/nvidia; do
    [ -e "$d/libnvidia-opencl.so.1" ] && { echo "$d/libnvidia-opencl.so.1"; return; }
  done
}
nvidia_lib=$(find_nvidia_opencl)
if [ -n "$nvidia_lib" ] && ! grep -qs nvidia-opencl /etc/OpenCL/vendors/*.icd; then
  if mkdir -p /etc/OpenCL/vendors 2>/dev/null && echo "$nvidia_lib" > /etc/OpenCL/vendors/nvidia.icd 2>/dev/null; then
    say "registered $nvidia_lib in /etc/OpenCL/vendors/nvidia.icd"
  else
    # No root: point the ocl-icd loader at a private vendors folder instead.
    mkdir -p "$out/vendors" && echo "$nvidia_lib" > "$out/vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$out/vendors"
    say "registered $nvidia_lib via OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
  fi
fi
[ -z "$nvidia_lib" ] && say "note: libnvidia-opencl.so.1 not found; using whatever ICDs are registered"

# step NAME SECONDS CMD...: runs CMD with a time limit (never past the deadline), keeps its
# output in raw/NAME.out|.err, logs the command, exit code and tail.
step() {
  local name=$1 limit=$2; shift 2
  local remaining; remaining=$(left)
  if [ "$remaining" -le 5 ]; then say "=== $name: skipped (out of time)"; status=1; return 0; fi
  [ "$limit" -gt "$remaining" ] && limit=$remaining
  say ""
  say "=== $name: $*"
  commands+=("$*")
  local t0=$SECONDS
  timeout "$limit" "$@" > "$raw/$name.out" 2> "$raw/$name.err"
  local rc=$?
  say "--- $name: exit $rc after $((SECONDS - t0)) s"
  tail -n 25 "$raw/$name.out" | tee -a "$log"
  if [ $rc -ne 0 ]; then tail -n 15 "$raw/$name.err" | tee -a "$log"; status=1; fi
  [ $rc -eq 124 ] && say "(timed out after $limit s)"
  return 0
}

step devices 60 "$llamacl" devices
step devices-json 60 "$llamacl" devices --json
command -v nvidia-smi > /dev/null && step nvidia-smi 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv

# --- llama.cpp's llama-bench with CUDA, built in the background ----------------------------
llama_bench=""
llama_pid=""
nvcc_bin=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
if [ "${NO_LLAMA_CPP:-0}" = 1 ]; then
  say "llama.cpp: skipped (NO_LLAMA_CPP=1)"
elif [ ! -f "$bundle/llama-cpp-src.tar.gz" ]; then
  say "llama.cpp: skipped (no llama-cpp-src.tar.gz in the bundle)"
elif [ -z "$nvcc_bin" ] || ! command -v cmake > /dev/null; then
  say "llama.cpp: skipped (needs nvcc and cmake: nvcc='${nvcc_bin}', cmake='$(command -v cmake)')"
else
  build_llama() {
    set -e
    mkdir -p "$out/llama"
    tar xzf "$bundle/llama-cpp-src.tar.gz" -C "$out/llama"
    local arch=native generator=()
    # CMAKE_CUDA_ARCHITECTURES=native needs CMake 3.24; Hopper (H100/H200) is 90 otherwise.
    cmake --version | awk 'NR == 1 { split($3, v, "."); exit !(v[1] > 3 || (v[1] == 3 && v[2] >= 24)) }' || arch=90
    command -v ninja > /dev/null && generator=(-G Ninja)
    echo "nvcc: $("$nvcc_bin" --version | tail -n 1); CMAKE_CUDA_ARCHITECTURES=$arch"
    cmake -S "$out/llama/llama.cpp" -B "$out/llama/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CUDA_COMPILER="$nvcc_bin" -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" -DGGML_NATIVE=ON \
      -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
    cmake --build "$out/llama/build" --target llama-bench -j "$(nproc)"
  }
  build_limit=$(( $(left) - 90 ))   # leave time to run it
  say ""
  say "=== build-llama-bench (background, ${build_limit} s at most): cmake -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native ... --target llama-bench"
  commands+=("cmake -S llama.cpp -B build -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF && cmake --build build --target llama-bench -j \$(nproc)")
  llama_t0=$SECONDS
  ( export -f build_llama; export out bundle nvcc_bin
    timeout "$build_limit" bash -c build_llama > "$raw/build-llama-bench.out" 2> "$raw/build-llama-bench.err"
    echo $? > "$raw/build-llama-bench.rc" ) &
  llama_pid=$!
fi

# --- models --------------------------------------------------------------------------------
models="${MODELS:-tinyllama-q4_0 s110-q8_0}"
synth_args() {
  case "$1" in
    s15-q8_0) echo "--shape stories15M --type Q8_0" ;;
    s110-q8_0) echo "--shape stories110M --type Q8_0" ;;
    s110-q4_K) echo "--shape stories110M --type Q4_K" ;;
    tinyllama-q4_0) echo "--shape TinyLlama-1.1B --type Q4_0" ;;
    tinyllama-q8_0) echo "--shape TinyLlama-1.1B --type Q8_0" ;;
    *) return 1 ;;
  esac
}
for m in $models; do
  args=$(synth_args "$m") || { say "error: unknown model name '$m'"; status=1; continue; }
  # shellcheck disable=SC2086
  step "synth-$m" 240 "$llamacl" synth $args -o "$out/models/$m.gguf"
done

# Prompt and depth per model: within its context (stories15M holds 256 tokens, stories110M 1024).
bench_sizes() {
  case "$1" in
    s15-*) echo "128 64 128" ;;
    s110-*) echo "512 128 512" ;;
    *) echo "512 128 1024" ;;
  esac
}

# --- verify: op checks + whole model (exit 0 only if every check passes) --------------------
for m in "$bundle"/models/*.gguf; do
  [ -f "$m" ] && step "verify-$(basename "$m" .gguf)" 120 "$llamacl" verify -m "$m" -n 16 --json
done
for m in $models; do
  [ -f "$out/models/$m.gguf" ] && step "verify-$m" 180 "$llamacl" verify -m "$out/models/$m.gguf" -n 16 --json
done

# --- bench: llamacl on the GPU -------------------------------------------------------------
for m in $models; do
  f="$out/models/$m.gguf"
  [ -f "$f" ] || continue
  read -r pp tg depth <<< "$(bench_sizes "$m")"
  step "bench-$m" 120 "$llamacl" bench -m "$f" --backend opencl -p "$pp" -n "$tg" -r 3 --json
  step "bench-$m-depth" 120 "$llamacl" bench -m "$f" --backend opencl -p 0 -n 32 -d "$depth" -r 3 --json
  step "bench-$m-profile" 120 "$llamacl" bench -m "$f" --backend opencl -p "$pp" -n 32 -d "$depth" -r 1 --profile
  step "bench-$m-batched" 120 "$llamacl" bench -m "$f" --backend opencl -p 64 -n 32 -r 1 --batch 1,4,16,64 --json
done

# --- llama-bench on the same files ---------------------------------------------------------
if [ -n "$llama_pid" ]; then
  say ""
  say "=== waiting for the llama-bench build ($(left) s left)"
  wait "$llama_pid"
  rc=$(cat "$raw/build-llama-bench.rc" 2>/dev/null || echo "?")
  say "--- build-llama-bench: exit $rc after $((SECONDS - llama_t0)) s"
  tail -n 5 "$raw/build-llama-bench.out" | tee -a "$log"
  if [ "$rc" = 0 ] && [ -x "$out/llama/build/bin/llama-bench" ]; then
    llama_bench="$out/llama/build/bin/llama-bench"
  else
    tail -n 20 "$raw/build-llama-bench.err" | tee -a "$log"; status=1
  fi
fi
if [ -n "$llama_bench" ]; then
  for m in $models; do
    f="$out/models/$m.gguf"
    [ -f "$f" ] || continue
    read -r pp tg depth <<< "$(bench_sizes "$m")"
    step "llama-bench-$m" 120 "$llama_bench" -m "$f" -ngl 99 -p "$pp" -n "$tg" -r 3 -o json
    step "llama-bench-$m-depth" 90 "$llama_bench" -m "$f" -ngl 99 -p 0 -n 32 -d "$depth" -r 3 -o json
  done
fi

# --- summary ---------------------------------------------------------------------------------
{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ) ($((SECONDS - start_time)) s, exit $status)"
  echo
  echo "## Device"
  echo '```'
  cat "$raw/devices.out" 2>/dev/null
  [ -f "$raw/nvidia-smi.out" ] && cat "$raw/nvidia-smi.out"
  [ -f "$raw/build-llama-bench.out" ] && grep -m1 '^nvcc:' "$raw/build-llama-bench.out"
  [ -f "$bundle/llama-cpp-src.txt" ] && cat "$bundle/llama-cpp-src.txt"
  echo '```'
  echo
  echo "## Commands"
  echo '```'
  printf '%s\n' "${commands[@]}" | sed "s#$out#OUT#g; s#$bundle#BUNDLE#g"
  echo '```'
} > "$out/summary.md"
if command -v python3 > /dev/null; then
  python3 - "$raw" "$out/summary.md" "$out/results.json" <<'PY'
import json, os, re, sys
raw, summary, results_path = sys.argv[1:4]
results = {}
for name in sorted(os.listdir(raw)):
    if not name.endswith(".out"): continue
    text = open(os.path.join(raw, name), errors="replace").read().strip()
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("[") or line.startswith("{"):
            try: results[name[:-4]] = json.loads(line); break
            except ValueError: pass
    else:
        try: results[name[:-4]] = json.loads(text)
        except ValueError: pass
json.dump(results, open(results_path, "w"), indent=1, sort_keys=True)
rows = []
for step, value in results.items():
    if step.startswith("bench-") and isinstance(value, list):
        for r in value:
            rows.append((re.sub(r"-(depth|batched)$", "", step[len("bench-"):]), "llamacl opencl", r.get("test"), r.get("tokens_per_second"), r.get("stddev")))
    if step.startswith("llama-bench-") and isinstance(value, list):
        for r in value:
            p, n, d = r.get("n_prompt", 0), r.get("n_gen", 0), r.get("n_depth", 0)
            test = (f"pp{p}" if p else f"tg{n}") + (f" @ d{d}" if d else "")
            rows.append((re.sub(r"-depth$", "", step[len("llama-bench-"):]), "llama.cpp CUDA", test, r.get("avg_ts"), r.get("stddev_ts")))
with open(summary, "a") as f:
    f.write("\n## Tokens per second\n\n| model | engine | test | t/s | sd |\n|---|---|---|---|---|\n")
    for m, e, t, v, sd in sorted(rows, key=lambda r: (r[0], r[2] or "", r[1])):
        f.write(f"| {m} | {e} | {t} | {v:.1f} | {sd or 0:.1f} |\n" if isinstance(v, (int, float)) else f"| {m} | {e} | {t} | {v} | |\n")
    f.write("\n## verify\n\n")
    for step, value in results.items():
        if step.startswith("verify-") and isinstance(value, dict):
            checks = value.get("checks", [])
            failed = [c.get("name") for c in checks if not c.get("pass")]
            f.write(f"- {step[len('verify-'):]}: {len(checks) - len(failed)} of {len(checks)} checks pass" + (f"; failing: {failed}" if failed else "") + "\n")
    profiles = [s for s in os.listdir(raw) if s.endswith("-profile.out")]
    for name in sorted(profiles):
        f.write(f"\n## {name[:-4]}\n\n```\n" + "\n".join(l for l in open(os.path.join(raw, name)) .read().splitlines() if l.startswith(("profile", "  "))) + "\n```\n")
PY
fi
tar czf "$out/raw.tar.gz" -C "$out" raw
say ""
say "=== done in $((SECONDS - start_time)) s, exit $status: $out/summary.md"
cat "$out/summary.md"
exit $status

#!/usr/bin/env bash
# The OpenCL backend on a real GPU, from a bundle made by scripts/gpu-bundle.sh (no Swift
# toolchain needed): lists devices, runs `llamacl verify` (every op and the whole model against
# the CPU reference) with the default GEMM path and with F32 SGEMM forced, then `llamacl bench`
# on the GPU and on the CPU. Models are synthesized on the spot (random weights, real shapes).
#
# Usage: gpu-check.sh [OUT_DIR]           (default: ./gpu-check-out)
# Env:   LLAMACL_DEVICE   device index or name (default: first GPU)
#        BIG=1            also bench TinyLlama-1.1B Q4_0 (synthesizing it takes a minute or two)
# Every step is time-boxed; results land in OUT_DIR/*.out|*.err|*.json and a summary on stdout.
set -uo pipefail

bundle="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-gpu-check-out}" && cd "${1:-gpu-check-out}" && pwd)"
llamacl="$bundle/llamacl"
if [ ! -x "$llamacl" ] && [ -f "$bundle/llamacl.gz" ]; then
  mkdir -p "$out/bin" && gunzip -c "$bundle/llamacl.gz" > "$out/bin/llamacl" && chmod +x "$out/bin/llamacl"
  llamacl="$out/bin/llamacl"
fi
[ -x "$llamacl" ] || { echo "error: no llamacl or llamacl.gz in $bundle (make one with scripts/gpu-bundle.sh)" >&2; exit 2; }
export LD_LIBRARY_PATH="$bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Compiled kernels are cached here, so the second run shows warm start-up.
export XDG_CACHE_HOME="$out/cache"
status=0

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
    echo "registered $nvidia_lib in /etc/OpenCL/vendors/nvidia.icd"
  else
    # No root: point the ocl-icd loader at a private vendors folder instead.
    mkdir -p "$out/vendors" && echo "$nvidia_lib" > "$out/vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$out/vendors"
    echo "registered $nvidia_lib via OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
  fi
fi
[ -z "$nvidia_lib" ] && echo "note: libnvidia-opencl.so.1 not found; using whatever ICDs are registered"

# --- steps -----------------------------------------------------------------------------
# step NAME SECONDS CMD...: runs CMD with a time limit, keeps its output, prints its tail.
step() {
  local name=$1 limit=$2; shift 2
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.out" 2> "$out/$name.err"
  local rc=$?
  echo "--- $name: exit $rc after $((SECONDS - start)) s"
  tail -n 40 "$out/$name.out"
  [ $rc -ne 0 ] && { tail -n 15 "$out/$name.err"; status=1; }
  return 0
}

step devices 60 "$llamacl" devices
step devices-json 60 "$llamacl" devices --json
cp "$out/devices-json.out" "$out/devices.json" 2>/dev/null

mkdir -p "$out/models"
step synth-s15-q8_0 120 "$llamacl" synth --shape stories15M --type Q8_0 -o "$out/models/s15-q8_0.gguf"
step synth-s110-q4_K 240 "$llamacl" synth --shape stories110M --type Q4_K -o "$out/models/s110-q4_K.gguf"
step synth-s110-q8_0 240 "$llamacl" synth --shape stories110M --type Q8_0 -o "$out/models/s110-q8_0.gguf"

# verify: op checks + whole model; default GEMM (HGEMM when the GPU has cl_khr_fp16), then SGEMM.
step verify-s15-q8_0 300 "$llamacl" verify -m "$out/models/s15-q8_0.gguf" -n 16
step verify-s110-q4_K-json 300 "$llamacl" verify -m "$out/models/s110-q4_K.gguf" -n 16 --json
cp "$out/verify-s110-q4_K-json.out" "$out/verify-s110-q4_K.json" 2>/dev/null
step verify-s110-q4_K-sgemm 300 env LLAMACL_GEMM=f32 "$llamacl" verify -m "$out/models/s110-q4_K.gguf" -n 16 --json
for m in "$bundle"/models/*.gguf; do
  [ -f "$m" ] && step "verify-$(basename "$m" .gguf)" 300 "$llamacl" verify -m "$m" -n 16
done

# bench: GPU (default GEMM, then SGEMM) against the CPU on the same model.
step bench-s110-q8_0-opencl 300 "$llamacl" bench -m "$out/models/s110-q8_0.gguf" --backend opencl -p 512 -n 128 -r 3 --json
step bench-s110-q8_0-opencl-sgemm 300 env LLAMACL_GEMM=f32 "$llamacl" bench -m "$out/models/s110-q8_0.gguf" --backend opencl -p 512 -n 128 -r 3 --json
step bench-s110-q8_0-cpu 300 "$llamacl" bench -m "$out/models/s110-q8_0.gguf" --backend cpu -p 512 -n 128 -r 3 --json
step bench-s110-q4_K-opencl 300 "$llamacl" bench -m "$out/models/s110-q4_K.gguf" --backend opencl -p 512 -n 128 -r 3 --json
if [ "${BIG:-0}" = 1 ]; then
  step synth-tinyllama-q4_0 400 "$llamacl" synth --shape TinyLlama-1.1B --type Q4_0 -o "$out/models/tinyllama-q4_0.gguf"
  step bench-tinyllama-q4_0-opencl 400 "$llamacl" bench -m "$out/models/tinyllama-q4_0.gguf" --backend opencl -p 512 -n 128 -r 2 --json
fi

echo
echo "=== summary (exit $status): results in $out"
for f in "$out"/verify-*.out; do
  [ -f "$f" ] || continue
  # JSON runs: the top-level "pass" is the last key of the line; table runs end with "N of M checks pass".
  result=$(sed -nE 's/.*"pass":(true|false)[^"]*$/\1/p; s/^([0-9]+ of [0-9]+ checks pass)$/\1/p' "$f" | tail -n 1)
  echo "$(basename "$f" .out): ${result:-no result}"
done
for f in "$out"/bench-*.out; do
  [ -f "$f" ] || continue
  # One JSON array per file; keys are sorted, so backend < test < tokens_per_second.
  sed 's/},{/}\n{/g' "$f" | sed -nE 's/.*"backend":"([a-z]+)".*"test":"([a-z0-9]+)".*"tokens_per_second":([0-9.]+).*/\1 \2 \3 tokens\/s/p' |
    sed "s/^/$(basename "$f" .out): /"
done
exit $status

#!/usr/bin/env bash
# Builds llama.cpp, the independent reference LlamaCL is measured against, outside this
# repository: the copy vendored in the llama-cpp-python 0.3.36 sdist from PyPI (llama.cpp
# build 0c1e570; the registries are the only downloads here), with its default native flags.
#
#     scripts/llamacpp/build.sh [DIR]      # DIR default: ~/.cache/llamacl/llama.cpp
#
# Prints the bin directory (llama-bench, llama-batched-bench, llama-server, llama-tokenize,
# llama-quantize, and llamacpp-reference built from scripts/llamacpp/reference.cpp); set it as
# LLAMA_CPP_BIN for experiments/performance/run.sh and experiments/serving. Idempotent. About
# 20 minutes on 2 cores. Needs cmake and a C++ compiler (installed when missing and root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-${HOME}/.cache/llamacl/llama.cpp}
VERSION=0.3.36
SDIST_SHA=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
JOBS=${JOBS:-$(nproc)}
mkdir -p "$DIR"
cd "$DIR"

if ! command -v cmake > /dev/null || ! command -v c++ > /dev/null; then
    [ "$(id -u)" = 0 ] || { echo "error: cmake and a C++ compiler are needed" >&2; exit 1; }
    apt-get update -qq && apt-get install -y -qq cmake g++ > /dev/null
fi

sdist=llama_cpp_python-$VERSION.tar.gz
if ! echo "$SDIST_SHA  $sdist" | sha256sum -c --status 2> /dev/null; then
    echo "downloading $sdist from PyPI" >&2
    python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation -d . "llama-cpp-python==$VERSION" \
        || python3 -m pip download --quiet --no-deps --no-binary :all: -d . "llama-cpp-python==$VERSION"
    echo "$SDIST_SHA  $sdist" | sha256sum -c --status || { echo "error: $sdist: wrong sha256" >&2; rm -f "$sdist"; exit 1; }
fi
src=$DIR/llama_cpp_python-$VERSION/vendor/llama.cpp
[ -d "$src" ] || tar xzf "$sdist"

[ -f build/CMakeCache.txt ] || cmake -S "$src" -B build -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_OPENSSL=OFF > build-configure.log
cmake --build build -j "$JOBS" --target llama-bench llama-batched-bench llama-tokenize llama-quantize llama-server > build.log
c++ -O2 -std=c++17 -I"$src/include" -I"$src/ggml/include" -I"$src/vendor" "$here/reference.cpp" \
    -Lbuild/bin -lllama -lggml -lggml-base -Wl,-rpath,"$DIR/build/bin" -o build/bin/llamacpp-reference
echo "$DIR/build/bin"

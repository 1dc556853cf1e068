#!/usr/bin/env bash
# Installs dependencies, then runs every test. Fixtures are read from $LLAMACL_FIXTURES
# (default ../shared/fixtures); tests that need them are skipped by name when absent (failed in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export LLAMACL_FIXTURES="${LLAMACL_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
swift build --build-tests
swift test --skip-build "$@"
# `llamacl serve` end to end, through the official openai client (installed if missing); uses
# the debug binary built above and stops the servers it starts.
python3 -c "import openai" 2>/dev/null || python3 -m pip install --quiet openai
python3 -m unittest discover -s Tests/serving -v

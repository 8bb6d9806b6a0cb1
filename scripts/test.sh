#!/usr/bin/env bash
# The whole test suite: the release build's GEMM inlining, Swift unit tests, then the CLI tests that
# compare against onnx/onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/check-inlining.sh
swift test
python3 -m pytest -q Tests/python "$@"

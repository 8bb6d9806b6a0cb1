#!/usr/bin/env bash
# The whole test suite: Swift unit tests, then the CLI tests that compare against onnx/onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
swift test
python3 -m pytest -q Tests/python "$@"

#!/usr/bin/env bash
# The GEMM's 6x16 tile must be inlined into every specialised copy of the multiply loop: when the
# compiler leaves it out of line, every tile costs a call (and copies may be merged to call their
# epilogue through a pointer). Checks the release binary for a stand-alone tile symbol.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${ONYX_BINARY:-.build/release/onyx}
count=$(nm "$binary" | grep -c 'SGEMMO4tile' || true)
if [ "$count" != 0 ]; then
    echo "check-inlining: $count out-of-line copies of SGEMM.tile in $binary (see SGEMM.tile's comment)" >&2
    exit 1
fi
echo "check-inlining: SGEMM.tile inlined everywhere"

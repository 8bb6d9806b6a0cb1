#!/usr/bin/env bash
# The GEMM's 6x16 tile and its store must be inlined into every specialised copy of the multiply loop,
# the blocked depthwise store of four outputs into its row loops, and the blocked pointwise store of a
# pixel into its tile loop: when the compiler leaves them out of line, every tile costs a call and its
# sums go through memory.
# Checks the release binary for stand-alone tile, storeTile, storeRow, storeFour or storeBlockedPixel symbols.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${ONYX_BINARY:-.build/release/onyx}
count=$(nm "$binary" | grep -c -E 'SGEMMO4tile|SGEMMO9storeTile|SGEMMO8storeRow|DepthwiseO9storeFour|storeBlockedPixel' || true)
if [ "$count" != 0 ]; then
    echo "check-inlining: $count out-of-line copies of SGEMM.tile, storeTile, storeRow, Depthwise.storeFour or storeBlockedPixel in $binary (see SGEMM.tile's comment)" >&2
    exit 1
fi
echo "check-inlining: SGEMM.tile, its store, the depthwise storeFour and storeBlockedPixel inlined everywhere"

#!/usr/bin/env bash
# The GEMM's tiles (6x32 and tall) and their stores must be inlined into every specialised copy of the
# multiply loop, the blocked depthwise store of four outputs into its row loops, and the blocked
# pointwise store of a pixel into its tile loop: when the compiler leaves them out of line, every tile
# costs a call and its sums go through memory. Likewise the standard library's unaligned vector loads
# and stores (`loadUnaligned`, `storeBytes` of SIMD8 and SIMD16), a call per vector when left out of
# line, and the halves of a SIMD16 (`lowHalf`, `highHalf`), two calls per pixel in the blocked pointwise
# kernel once. Checks the release binary for stand-alone tile, tallTile, storeTallRow, tileSums,
# vectorSums, storeTile, storeRow, storeFour, storeBlockedPixel, vector load and store, or SIMD16 half
# symbols.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${ONYX_BINARY:-.build/release/onyx}
count=$(nm "$binary" | grep -c -E 'SGEMMO4tile|SGEMMO8tallTile|SGEMMO12storeTallRow|SGEMMO8tileSums|SGEMMO10vectorSums|SGEMMO9storeTile|SGEMMO8storeRow|DepthwiseO9storeFour|storeBlockedPixel|(loadUnaligned|storeBytes).*SIMD(8|16)V|SIMD16V(7lowHalf|8highHalf)' || true)
if [ "$count" != 0 ]; then
    echo "check-inlining: $count out-of-line copies of SGEMM.tile, tallTile, storeTallRow, storeTile, storeRow, Depthwise.storeFour, storeBlockedPixel, vector loads and stores or SIMD16 halves in $binary (see SGEMM.tile's comment)" >&2
    exit 1
fi
echo "check-inlining: SGEMM.tile, tallTile, their stores, the depthwise storeFour, storeBlockedPixel, vector loads and stores and SIMD16 halves inlined everywhere"

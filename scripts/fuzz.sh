#!/usr/bin/env bash
# Builds the libFuzzer harnesses (with the address sanitizer) and fuzzes one for a while:
#   scripts/fuzz.sh decode|load|run [SECONDS]
# Seeds: small models from the ONNX node tests (Tests/fuzz/corpus) and the smallest shipped model for
# decode/load, random bytes for run; inputs are capped at 64 KiB for decode/load so that runs are fast.
# New findings land in
# Tests/fuzz/findings/TARGET (replay them with a plain build: ONYX_FUZZ_TARGET=T .build/release/onyx-fuzz FILE...).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh decode|load|run [SECONDS]}
seconds=${2:-600}
swift build -c release --scratch-path .build-fuzz --product onyx-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
    -Xswiftc -target-cpu -Xswiftc native
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "Tests/fuzz/findings/$target"
case "$target" in
    run) head -c 602112 /dev/urandom > "$corpus/random" ;;
    *) cp Tests/fuzz/corpus/* "$corpus/"; cp models/efficientnet_tiny/model.onnx "$corpus/efficientnet_tiny.onnx" ;;
esac
max_len=65536
[ "$target" = run ] && max_len=602112
ONYX_FUZZ_TARGET=$target .build-fuzz/release/onyx-fuzz "$corpus" -max_total_time="$seconds" -max_len="$max_len" \
    -rss_limit_mb=4096 -timeout=20 -artifact_prefix="Tests/fuzz/findings/$target/" -print_final_stats=1

#!/usr/bin/env bash
# Builds the libFuzzer harnesses (with the address sanitizer) and fuzzes one for a while:
#   scripts/fuzz.sh decode|load|run [SECONDS]
# The seed corpus is models/ and the hostile cases in Tests/fuzz/corpus; new findings land in
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
    *) cp models/*/model.onnx "$corpus/" 2>/dev/null || true; for f in models/*/model.onnx; do cp "$f" "$corpus/$(basename "$(dirname "$f")").onnx"; done
       cp Tests/fuzz/corpus/* "$corpus/" 2>/dev/null || true ;;
esac
ONYX_FUZZ_TARGET=$target .build-fuzz/release/onyx-fuzz "$corpus" -max_total_time="$seconds" -max_len=4000000 \
    -rss_limit_mb=4096 -timeout=20 -artifact_prefix="Tests/fuzz/findings/$target/" -print_final_stats=1

#!/usr/bin/env bash
# Regenerates the protobuf-c bindings in Sources/COnnxProto from schemas/onnx.proto.
# Needs protoc-c (Debian: protobuf-c-compiler). The output is committed so builds don't need protoc-c.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc-c --proto_path=schemas --c_out="$out" schemas/onnx.proto
mkdir -p Sources/COnnxProto/include
mv "$out/onnx.pb-c.h" Sources/COnnxProto/include/onnx.pb-c.h
mv "$out/onnx.pb-c.c" Sources/COnnxProto/onnx.pb-c.c
echo "regenerated Sources/COnnxProto from schemas/onnx.proto ($(protoc-c --version | head -1))"

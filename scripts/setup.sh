#!/usr/bin/env bash
# Installs what Onyx needs on a fresh Debian machine with Swift, then builds it in release mode.
#   system:  libprotobuf-c-dev (the C runtime the bridge links), pkg-config, protobuf-c-compiler
#            (only to regenerate Sources/COnnxProto)
#   python:  onnx, onnxruntime, numpy, pytest (test oracles; never needed to run onyx itself)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
pkg-config --exists libprotobuf-c 2>/dev/null || missing+=(libprotobuf-c-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v protoc-c >/dev/null || missing+=(protobuf-c-compiler)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import onnx, onnxruntime, numpy, pytest" 2>/dev/null; then
    echo "setup: installing Python test oracles (onnx, onnxruntime, numpy, pytest)"
    python3 -m pip install -q -r scripts/requirements-test.txt
fi

scripts/build.sh

#!/usr/bin/env bash
# Release build of the onyx CLI and library, compiled for this machine's CPU.
# Kernels rely on SIMD fused multiply-adds; without a target CPU Swift lowers them to libm calls
# (see README, "Performance and the target CPU"). ONYX_TARGET_CPU=generic builds a portable binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cpu_flags=()
if [ "${ONYX_TARGET_CPU:-native}" != "generic" ]; then
    cpu_flags=(-Xswiftc -target-cpu -Xswiftc "${ONYX_TARGET_CPU:-native}")
fi
swift build -c release "${cpu_flags[@]}" "$@"

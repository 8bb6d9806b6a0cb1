// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Onyx",
    products: [
        .library(name: "Onyx", targets: ["Onyx"]),
        .executable(name: "onyx", targets: ["onyx"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // libprotobuf-c from the system (Debian: libprotobuf-c-dev), found through pkg-config.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c's output for schemas/onnx.proto; regenerate with scripts/generate-proto.sh.
        .target(name: "COnnxProto", dependencies: ["CProtobufC"]),
        // The only layer that touches C memory: ONNX files <-> Swift values.
        .target(name: "OnnxFormat", dependencies: ["COnnxProto", "PageMemory"]),
        // Large write-once buffers in (huge) pages straight from the kernel.
        .target(name: "PageMemory"),
        .target(name: "OnyxIR", dependencies: ["OnnxFormat"]),
        .target(name: "OnyxPlanner", dependencies: ["OnyxIR"]),
        .target(name: "OnyxBuilder", dependencies: ["OnnxFormat", "OnyxIR"]),
        // Prefetch and spin-wait hints (static inline C), for the kernels and the thread pool.
        .systemLibrary(name: "CPUHints"),
        .target(name: "OnyxKernels", dependencies: ["PageMemory", "CPUHints"]),
        .target(name: "OnyxRuntime", dependencies: ["OnyxIR", "OnyxPlanner", "OnyxKernels", "PageMemory"]),
        .target(name: "Onyx", dependencies: ["OnnxFormat", "OnyxIR", "OnyxPlanner", "OnyxKernels", "OnyxRuntime", "OnyxBuilder", "PageMemory"]),
        // glibc's <malloc.h>, for the command line's heap settings.
        .systemLibrary(name: "CMalloc"),
        .executableTarget(
            name: "onyx",
            dependencies: ["Onyx", "CMalloc", "PageMemory", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fuzzing harnesses; scripts/fuzz.sh builds them with libFuzzer, a plain build replays inputs.
        .executableTarget(name: "onyx-fuzz", dependencies: ["Onyx"]),
        // The cores' cache-line round trip, which benchmarks/compare.py records around every round.
        .executableTarget(name: "onyx-core-latency"),
        .testTarget(name: "OnnxFormatTests", dependencies: ["OnnxFormat", "PageMemory", "CMalloc"]),
        .testTarget(name: "OnyxRuntimeTests", dependencies: ["Onyx"]),
    ]
)

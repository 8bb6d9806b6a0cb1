// CPU hints Swift has no spelling for. Static inline, so a call from Swift compiles to the one
// instruction (nothing where the target has none).

// Software prefetch of the line holding `address` into all cache levels (prefetcht0 on x86-64).
static inline void onyx_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

// The spin-wait hint (pause on x86-64, yield on arm64): a spinning core slows its polling, which
// leaves the memory system (and an SMT sibling) to the threads doing work.
static inline void onyx_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// 1 when the code is compiled for a CPU with AVX-512 (`-target-cpu native` on such a machine passes it
// to this header too): the GEMM then uses 16-float vectors, 6x32 tiles in 12 of the 32 zmm registers.
#if defined(__AVX512F__)
#define ONYX_WIDE_VECTORS 1
#else
#define ONYX_WIDE_VECTORS 0
#endif

// Eight floats as Swift's SIMD8<Float>.
typedef float onyx_float8 __attribute__((ext_vector_type(8)));

// Returns `v` unchanged, but the compiler can no longer see how it was made or which of its lanes
// are used: the arithmetic before stays whole-vector where later shuffles use a few lanes of it.
static inline onyx_float8 onyx_opaque8(onyx_float8 v) {
#if defined(__x86_64__) && defined(__AVX__)
    __asm__("" : "+x"(v));
#endif
    return v;
}

// The square root of each lane: one vsqrtps where the target has it. Swift's SIMD `squareRoot()`
// took 0.51 ms for 50k floats (a Sqrt node at [1, 64, 28, 28]); this takes 0.01.
static inline onyx_float8 onyx_sqrt8(onyx_float8 v) { return __builtin_elementwise_sqrt(v); }

// Software prefetch, which Swift has no spelling for. Static inline, so a call from Swift compiles to
// the one instruction (prefetcht0 on x86-64; nothing where the target has none).
static inline void onyx_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

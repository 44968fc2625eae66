// Function multi-versioning for the hot kernels: one binary, the best of AVX-512, AVX2+FMA or baseline
// x86-64 chosen at load time by the dynamic linker (GCC target_clones). Elsewhere it expands to nothing.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LENET_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LENET_KERNEL
#endif

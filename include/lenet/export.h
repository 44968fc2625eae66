// LENET_API marks the library's public interface: the only symbols a shared build of lenet::lenet and
// lenet::vision exports (everything else is compiled with hidden visibility; docs/library.md).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define LENET_API __attribute__((visibility("default")))
#else
#define LENET_API
#endif

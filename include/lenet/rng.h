// Deterministic random numbers for initialisation, shuffling and distortions.
// xoshiro256** seeded by splitmix64: the same seed gives the same stream on every platform and compiler.
#pragma once
#include <array>
#include <cstdint>

namespace lenet {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    for (auto& word : state) {
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state[1] * 5, 7) * 9;
    const std::uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 24 random bits, exactly representable as float.
  float uniform() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) by Lemire's multiply-shift (bias < 2^-32 for our n).
  std::uint32_t below(std::uint32_t n) {
    return std::uint32_t(((next_u64() >> 32) * std::uint64_t(n)) >> 32);
  }

  std::array<std::uint64_t, 4> state{};

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
};

// Fisher–Yates shuffle with our generator, so the order does not depend on the standard library.
template <typename T>
void shuffle(T* data, std::size_t count, Rng& rng) {
  for (std::size_t i = count; i > 1; --i) {
    const std::size_t j = rng.below(std::uint32_t(i));
    T tmp = data[i - 1];
    data[i - 1] = data[j];
    data[j] = tmp;
  }
}

}  // namespace lenet

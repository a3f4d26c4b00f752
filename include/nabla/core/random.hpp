// Generator: a small, fast, seeded random number generator (xoshiro256**),
// the explicit source of randomness for factories, init and shuffling.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>

namespace nabla {

// Everything that determines a Generator's future output: restoring it with
// Generator::set_state continues the sequence bit for bit, including a
// normal() value kept from the last Box-Muller pair.
struct GeneratorState {
  std::array<std::uint64_t, 4> words{};  // xoshiro256** state
  std::uint64_t seed = 0;                // what initial_seed() reports
  bool has_spare_normal = false;
  double spare_normal = 0.0;
  bool operator==(const GeneratorState&) const = default;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x853c49e6748fea9bULL) { manual_seed(seed); }

  // Restarts the sequence from `seed` (splitmix64 expands it to the state).
  void manual_seed(std::uint64_t seed) {
    seed_ = seed;
    std::uint64_t x = seed;
    for (auto& word : state_) {
      x += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
    has_spare_normal_ = false;
  }
  std::uint64_t initial_seed() const noexcept { return seed_; }

  // Saves and restores the position in the sequence (for checkpoints).
  GeneratorState state() const noexcept {
    GeneratorState out;
    for (std::size_t i = 0; i < 4; ++i) out.words[i] = state_[i];
    out.seed = seed_;
    out.has_spare_normal = has_spare_normal_;
    out.spare_normal = has_spare_normal_ ? spare_normal_ : 0.0;
    return out;
  }
  void set_state(const GeneratorState& s) noexcept {
    for (std::size_t i = 0; i < 4; ++i) state_[i] = s.words[i];
    seed_ = s.seed;
    has_spare_normal_ = s.has_spare_normal;
    spare_normal_ = s.spare_normal;
  }

  std::uint64_t next_u64() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in [low, high).
  double uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }
  // Uniform integer in [0, n); n > 0. Lemire's method without the rare
  // rejection step: the bias is below 2^-32 for the sizes we shuffle.
  std::uint64_t below(std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }
  // Standard normal (Box-Muller; the second value of each pair is kept).
  double normal() noexcept {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_normal_ = radius * std::sin(angle);
    has_spare_normal_ = true;
    return radius * std::cos(angle);
  }
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  std::uint64_t state_[4] = {};
  std::uint64_t seed_ = 0;
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

// This thread's default generator, used when no generator is passed.
// thread_local: threads never race on it, and each can seed its own.
inline Generator& default_generator() {
  thread_local Generator generator;
  return generator;
}

// Seeds this thread's default generator.
inline void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace nabla

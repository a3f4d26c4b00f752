// Anomaly detection: while a DetectAnomalyGuard is alive on a thread, any NaN
// or Inf produced by a differentiable op (forward) or by a gradient rule
// (backward) throws an AutogradError naming the op, its input shapes, its
// position on the tape and any user labels. Off by default: one flag test.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "nabla/core/tensor.hpp"

namespace nabla {

class AnomalyMode {
 public:
  static bool is_enabled() noexcept { return flag(); }
  static void set_enabled(bool on) noexcept { flag() = on; }

 private:
  static bool& flag() noexcept {
    thread_local bool enabled = false;
    return enabled;
  }
};

// RAII switch, like torch.autograd.detect_anomaly().
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() noexcept : previous_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

namespace detail {

// "nan" or "inf" for the first non-finite element, or nullptr when all are finite.
template <class T>
const char* first_non_finite(const Tensor<T>& t, std::int64_t& where) {
  if constexpr (std::is_floating_point_v<T>) {
    const Tensor<T> c = t.contiguous();
    const T* p = c.data();
    for (std::int64_t i = 0, n = c.numel(); i < n; ++i) {
      if (!std::isfinite(p[i])) {
        where = i;
        return std::isnan(p[i]) ? "nan" : "inf";
      }
    }
  }
  return nullptr;
}

}  // namespace detail
}  // namespace nabla

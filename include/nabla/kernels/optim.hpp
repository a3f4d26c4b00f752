// Optimizer update kernels (SGD, Adam/AdamW, RMSprop) on contiguous buffers:
// one fused pass per parameter, in the operation order of torch.optim 1.13.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "nabla/kernels/simd.hpp"
#include "nabla/detail/diagnostics.hpp"

NABLA_SIMD_WARNINGS_BEGIN

namespace nabla::kernels {

// Load/store one lane (V = T) or one batch (V = Batch<T>) at p.
template <class V, class T>
V lane_load(const T* p) noexcept {
  if constexpr (std::is_same_v<V, T>) {
    return *p;
  } else {
    return V::load_unaligned(p);
  }
}
template <class T, class V>
void lane_store(T* p, const V& v) noexcept {
  if constexpr (std::is_same_v<V, T>) {
    *p = v;
  } else {
    v.store_unaligned(p);
  }
}

// Calls body.template operator()<V>(i) over [0, n): whole batches, then
// single values for the tail.
template <class T, class Body>
void lanewise(std::int64_t n, Body&& body) {
  std::int64_t tail = 0;
  if constexpr (simd_enabled<T>) {
    constexpr std::int64_t L = lanes<T>;
    tail = n - n % L;
    // Four batches per trip: the updates are memory bound, and the loop
    // overhead of one batch per trip cost ~10% on a layer's weights.
    const std::int64_t unrolled = n - n % (4 * L);
    std::int64_t i = 0;
    for (; i < unrolled; i += 4 * L) {
      body.template operator()<Batch<T>>(i);
      body.template operator()<Batch<T>>(i + L);
      body.template operator()<Batch<T>>(i + 2 * L);
      body.template operator()<Batch<T>>(i + 3 * L);
    }
    for (; i < tail; i += L) body.template operator()<Batch<T>>(i);
  }
  for (std::int64_t i = tail; i < n; ++i) body.template operator()<T>(i);
}

template <class T>
struct SgdConfig {
  T lr = 0, momentum = 0, one_minus_dampening = 1, weight_decay = 0;
  bool nesterov = false;
  bool first = false;  // the momentum buffer starts as the first gradient
};

// d = g + wd p; buf = first ? d : buf momentum + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; p -= lr d. buf may be null (no momentum).
template <class T>
void sgd_update(T* p, const T* g, T* buf, std::int64_t n, const SgdConfig<T>& c) {
  // The settings in locals, and the usual case (momentum, no weight decay,
  // not the first step, no Nesterov) as its own loop without tests: the
  // SIMD stores may alias c, so its fields would be reloaded and tested
  // for every batch.
  const SgdConfig<T> k = c;
  if (buf && !k.first && !k.nesterov && k.weight_decay == T{0}) {
    lanewise<T>(n, [=]<class V>(std::int64_t i) {
      const V b = lane_load<V>(buf + i) * V(k.momentum) + V(k.one_minus_dampening) * lane_load<V>(g + i);
      lane_store(buf + i, b);
      lane_store(p + i, lane_load<V>(p + i) + V(-k.lr) * b);
    });
    return;
  }
  lanewise<T>(n, [=]<class V>(std::int64_t i) {
    V d = lane_load<V>(g + i);
    if (k.weight_decay != T{0}) d = d + V(k.weight_decay) * lane_load<V>(p + i);
    if (buf) {
      const V b = k.first ? d : lane_load<V>(buf + i) * V(k.momentum) + V(k.one_minus_dampening) * d;
      lane_store(buf + i, b);
      d = k.nesterov ? d + V(k.momentum) * b : b;
    }
    lane_store(p + i, lane_load<V>(p + i) + V(-k.lr) * d);
  });
}

template <class T>
struct AdamConfig {
  T beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0;
  T weight_decay = 0;      // Adam's L2 term added to the gradient
  T decay_factor = 1;      // AdamW's decoupled p *= 1 - lr wd
  bool decoupled = false;  // AdamW
  T neg_step_size = 0;     // -lr / (1 - beta1^t)
  T bias_correction2_sqrt = 1;
  T eps = 0;
};

// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g g; vmax = max(vmax, v);
// p += -step_size m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps). vmax may be null.
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, std::int64_t n, const AdamConfig<T>& config) {
  const AdamConfig<T> c = config;  // in registers, not reloaded after every (aliasing) SIMD store
  lanewise<T>(n, [=]<class V>(std::int64_t i) {
    using std::max;
    using std::sqrt;
    V pv = lane_load<V>(p + i);
    if (c.decoupled) pv = pv * V(c.decay_factor);
    V gv = lane_load<V>(g + i);
    if (!c.decoupled && c.weight_decay != T{0}) gv = gv + V(c.weight_decay) * pv;
    const V mv = lane_load<V>(m + i) * V(c.beta1) + V(c.one_minus_beta1) * gv;
    V vv = lane_load<V>(v + i) * V(c.beta2) + V(c.one_minus_beta2) * gv * gv;
    lane_store(m + i, mv);
    lane_store(v + i, vv);
    if (vmax) {
      vv = max(lane_load<V>(vmax + i), vv);
      lane_store(vmax + i, vv);
    }
    const V denom = sqrt(vv) / V(c.bias_correction2_sqrt) + V(c.eps);
    lane_store(p + i, pv + V(c.neg_step_size) * mv / denom);
  });
}

template <class T>
struct RmspropConfig {
  T lr = 0, alpha = 0, one_minus_alpha = 0, eps = 0, weight_decay = 0, momentum = 0;
};

// sq = alpha sq + (1 - alpha) g g; (centered) ga = alpha ga + (1 - alpha) g;
// avg = sqrt(sq - ga ga) + eps; buf = momentum buf + g / avg, p -= lr buf
// (or p -= lr g / avg without momentum). ga and buf may be null.
template <class T>
void rmsprop_update(T* p, const T* g, T* sq, T* ga, T* buf, std::int64_t n, const RmspropConfig<T>& config) {
  const RmspropConfig<T> c = config;  // as in adam_update
  lanewise<T>(n, [=]<class V>(std::int64_t i) {
    using std::sqrt;
    V gv = lane_load<V>(g + i);
    if (c.weight_decay != T{0}) gv = gv + V(c.weight_decay) * lane_load<V>(p + i);
    const V s = lane_load<V>(sq + i) * V(c.alpha) + V(c.one_minus_alpha) * gv * gv;
    lane_store(sq + i, s);
    V avg;
    if (ga) {
      const V a = lane_load<V>(ga + i) * V(c.alpha) + V(c.one_minus_alpha) * gv;
      lane_store(ga + i, a);
      avg = sqrt(s + V(T{-1}) * a * a);
    } else {
      avg = sqrt(s);
    }
    avg = avg + V(c.eps);
    if (buf) {
      const V b = lane_load<V>(buf + i) * V(c.momentum) + gv / avg;
      lane_store(buf + i, b);
      lane_store(p + i, lane_load<V>(p + i) + V(-c.lr) * b);
    } else {
      lane_store(p + i, lane_load<V>(p + i) + V(-c.lr) * gv / avg);
    }
  });
}

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

// Numerically stable softmax / log-softmax kernels (forward and backward) over
// a contiguous last axis or a strided middle axis, in xsimd with scalar tails.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "nabla/kernels/parallel.hpp"
#include "nabla/kernels/simd.hpp"
#include "nabla/detail/diagnostics.hpp"

NABLA_SIMD_WARNINGS_BEGIN

namespace nabla::kernels {

namespace activation_detail {

template <class T>
T row_max(const T* x, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  T best = -std::numeric_limits<T>::infinity();
  std::int64_t i = 0;
  if (n >= w) {
    B acc = B::load_unaligned(x);
    for (i = w; i + w <= n; i += w) acc = xsimd::max(acc, B::load_unaligned(x + i));
    alignas(64) T lanes[B::size];
    acc.store_aligned(lanes);
    for (std::size_t l = 0; l < B::size; ++l) best = std::max(best, lanes[l]);
  }
  for (; i < n; ++i) best = std::max(best, x[i]);
  return best;
}

// y = exp(x - shift); returns sum(y).
template <class T>
T exp_shifted(const T* x, T* y, std::int64_t n, T shift) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  const B s(shift);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + w <= n; i += w) {
    const B e = xsimd::exp(B::load_unaligned(x + i) - s);
    e.store_unaligned(y + i);
    acc += e;
  }
  T sum = xsimd::hadd(acc);
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

// sum(exp(x - shift)) without storing.
template <class T>
T sum_exp_shifted(const T* x, std::int64_t n, T shift) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  const B s(shift);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + w <= n; i += w) acc += xsimd::exp(B::load_unaligned(x + i) - s);
  T sum = xsimd::hadd(acc);
  for (; i < n; ++i) sum += std::exp(x[i] - shift);
  return sum;
}

// y = x * scale + shift.
template <class T>
void affine(const T* x, T* y, std::int64_t n, T scale, T shift) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  const B sc(scale);
  const B sh(shift);
  std::int64_t i = 0;
  for (; i + w <= n; i += w) xsimd::fma(B::load_unaligned(x + i), sc, sh).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = x[i] * scale + shift;
}

template <class T>
T dot(const T* a, const T* b, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + w <= n; i += w) acc = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), acc);
  T sum = xsimd::hadd(acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

template <class T>
T sum(const T* a, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + w <= n; i += w) acc += B::load_unaligned(a + i);
  T total = xsimd::hadd(acc);
  for (; i < n; ++i) total += a[i];
  return total;
}

// Rows per parallel chunk so a chunk holds ~32k elements.
inline std::int64_t row_grain(std::int64_t row_elements) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(row_elements, 1));
}

}  // namespace activation_detail

// y[o, :] = softmax(x[o, :]) for an [outer, n] row-major buffer.
template <class T>
void softmax_lastdim(const T* x, T* y, std::int64_t outer, std::int64_t n) {
  if (n == 0) return;
  parallel_for(0, outer, activation_detail::row_grain(n), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* xr = x + o * n;
      T* yr = y + o * n;
      const T m = activation_detail::row_max(xr, n);
      const T s = activation_detail::exp_shifted(xr, yr, n, m);
      activation_detail::affine(yr, yr, n, T(1) / s, T(0));
    }
  });
}

// y[o, :] = x - max - log(sum(exp(x - max))) for an [outer, n] buffer.
template <class T>
void log_softmax_lastdim(const T* x, T* y, std::int64_t outer, std::int64_t n) {
  if (n == 0) return;
  parallel_for(0, outer, activation_detail::row_grain(n), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* xr = x + o * n;
      const T m = activation_detail::row_max(xr, n);
      const T lse = m + std::log(activation_detail::sum_exp_shifted(xr, n, m));
      activation_detail::affine(xr, y + o * n, n, T(1), -lse);
    }
  });
}

// Softmax over the middle axis of an [outer, n, inner] buffer: vectorised
// along the contiguous inner axis, one pass per reduction step.
template <class T>
void softmax_strided(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner, bool log) {
  if (n == 0 || inner == 0) return;
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for(0, outer, activation_detail::row_grain(n * inner), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* xo = x + o * n * inner;
      T* yo = y + o * n * inner;
      std::int64_t i = 0;
      for (; i + w <= inner; i += w) {
        B m = B::load_unaligned(xo + i);
        for (std::int64_t j = 1; j < n; ++j) m = xsimd::max(m, B::load_unaligned(xo + j * inner + i));
        B s(T(0));
        for (std::int64_t j = 0; j < n; ++j) {
          const B e = xsimd::exp(B::load_unaligned(xo + j * inner + i) - m);
          if (!log) e.store_unaligned(yo + j * inner + i);
          s += e;
        }
        if (log) {
          const B lse = m + xsimd::log(s);
          for (std::int64_t j = 0; j < n; ++j) (B::load_unaligned(xo + j * inner + i) - lse).store_unaligned(yo + j * inner + i);
        } else {
          const B r = B(T(1)) / s;
          for (std::int64_t j = 0; j < n; ++j) (B::load_unaligned(yo + j * inner + i) * r).store_unaligned(yo + j * inner + i);
        }
      }
      for (; i < inner; ++i) {
        T m = xo[i];
        for (std::int64_t j = 1; j < n; ++j) m = std::max(m, xo[j * inner + i]);
        T s = 0;
        for (std::int64_t j = 0; j < n; ++j) {
          const T e = std::exp(xo[j * inner + i] - m);
          if (!log) yo[j * inner + i] = e;
          s += e;
        }
        if (log) {
          const T lse = m + std::log(s);
          for (std::int64_t j = 0; j < n; ++j) yo[j * inner + i] = xo[j * inner + i] - lse;
        } else {
          const T r = T(1) / s;
          for (std::int64_t j = 0; j < n; ++j) yo[j * inner + i] *= r;
        }
      }
    }
  });
}

// Softmax backward over the last axis: dx = y * (dy - sum(dy * y)).
template <class T>
void softmax_backward_lastdim(const T* y, const T* dy, T* dx, std::int64_t outer, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for(0, outer, activation_detail::row_grain(n), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* yr = y + o * n;
      const T* gr = dy + o * n;
      T* dr = dx + o * n;
      const T d = activation_detail::dot(yr, gr, n);
      const B db(d);
      std::int64_t i = 0;
      for (; i + w <= n; i += w) {
        (B::load_unaligned(yr + i) * (B::load_unaligned(gr + i) - db)).store_unaligned(dr + i);
      }
      for (; i < n; ++i) dr[i] = yr[i] * (gr[i] - d);
    }
  });
}

// Log-softmax backward over the last axis: dx = dy - exp(y) * sum(dy).
template <class T>
void log_softmax_backward_lastdim(const T* y, const T* dy, T* dx, std::int64_t outer, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for(0, outer, activation_detail::row_grain(n), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* yr = y + o * n;
      const T* gr = dy + o * n;
      T* dr = dx + o * n;
      const T s = activation_detail::sum(gr, n);
      const B sb(s);
      std::int64_t i = 0;
      for (; i + w <= n; i += w) {
        (B::load_unaligned(gr + i) - xsimd::exp(B::load_unaligned(yr + i)) * sb).store_unaligned(dr + i);
      }
      for (; i < n; ++i) dr[i] = gr[i] - std::exp(yr[i]) * s;
    }
  });
}

// Backward of softmax (log = false) or log-softmax (log = true) over the
// middle axis of [outer, n, inner] buffers.
template <class T>
void softmax_backward_strided(const T* y, const T* dy, T* dx, std::int64_t outer, std::int64_t n, std::int64_t inner,
                              bool log) {
  if (n == 0 || inner == 0) return;
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  parallel_for(0, outer, activation_detail::row_grain(n * inner), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const std::int64_t base = o * n * inner;
      const T* yo = y + base;
      const T* go = dy + base;
      T* dxo = dx + base;
      std::int64_t i = 0;
      for (; i + w <= inner; i += w) {
        B s(T(0));
        for (std::int64_t j = 0; j < n; ++j) {
          const B g = B::load_unaligned(go + j * inner + i);
          s = log ? s + g : xsimd::fma(g, B::load_unaligned(yo + j * inner + i), s);
        }
        for (std::int64_t j = 0; j < n; ++j) {
          const B yv = B::load_unaligned(yo + j * inner + i);
          const B g = B::load_unaligned(go + j * inner + i);
          const B r = log ? g - xsimd::exp(yv) * s : yv * (g - s);
          r.store_unaligned(dxo + j * inner + i);
        }
      }
      for (; i < inner; ++i) {
        T s = 0;
        for (std::int64_t j = 0; j < n; ++j) s += log ? go[j * inner + i] : go[j * inner + i] * yo[j * inner + i];
        for (std::int64_t j = 0; j < n; ++j) {
          const T yv = yo[j * inner + i];
          const T g = go[j * inner + i];
          dxo[j * inner + i] = log ? g - std::exp(yv) * s : yv * (g - s);
        }
      }
    }
  });
}

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

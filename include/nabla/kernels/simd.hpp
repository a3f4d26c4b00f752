// SIMD helpers on raw buffers: the xsimd batch of nabla's kernels (SimdArch), unaligned
// load/store, and contiguous unary/binary/ternary maps with a batch tail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "nabla/detail/diagnostics.hpp"

NABLA_SIMD_WARNINGS_BEGIN
#include <xsimd/xsimd.hpp>

namespace nabla::kernels {

// float and double run through xsimd batches; other types take scalar loops.
template <class T>
inline constexpr bool simd_enabled = std::is_same_v<T, float> || std::is_same_v<T, double>;

// The xsimd architecture of every nabla kernel: the best one the compiler
// targets, except that AVX-512BW stops at AVX-512DQ. xsimd 8.1's integer
// select() for avx512bw does not compile at -O0 (GCC's blend intrinsics are
// macros there, and its switch on sizeof(T) instantiates every case), and
// xsimd::exp/log reach it through their int lanes. BW only adds 8- and 16-bit
// lanes, which float and double kernels never use: same code at every -O level.
using SimdArch = std::conditional_t<std::is_same_v<xsimd::default_arch, xsimd::avx512bw>, xsimd::avx512dq,
                                    xsimd::default_arch>;

// A batch of T for that architecture.
template <class T>
using Batch = xsimd::batch<T, SimdArch>;

template <class T>
inline constexpr std::int64_t lanes = simd_enabled<T> ? static_cast<std::int64_t>(Batch<T>::size) : 1;

template <class T>
Batch<T> simd_load(const T* p) noexcept {
  return Batch<T>::load_unaligned(p);
}

template <class T, class A>
void simd_store(T* p, const xsimd::batch<T, A>& v) noexcept {
  v.store_unaligned(p);
}

// cond ? a : b for a scalar or lane by lane for a batch, so one functor
// body serves both.
template <class T>
T if_else(bool cond, T a, T b) noexcept {
  return cond ? a : b;
}
template <class T, class A>
xsimd::batch<T, A> if_else(const xsimd::batch_bool<T, A>& cond, const xsimd::batch<T, A>& a,
                          const xsimd::batch<T, A>& b) noexcept {
  return xsimd::select(cond, a, b);
}

// Lane 0 of a batch; identity for a scalar.
template <class T>
T first_lane(T v) noexcept {
  return v;
}
template <class T, class A>
T first_lane(const xsimd::batch<T, A>& v) noexcept {
  alignas(64) T buf[xsimd::batch<T, A>::size];
  v.store_aligned(buf);
  return buf[0];
}

// y[i] = f(x[i]). Every float/double element, tail included, goes through
// the batch form of f, so a value never depends on where it sits in a run
// (strided and contiguous inputs give bit-identical results).
template <class T, class F>
void map_unary(const T* x, T* y, std::int64_t n, const F& f) {
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    std::int64_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
      const B a0 = simd_load(x + i), a1 = simd_load(x + i + L), a2 = simd_load(x + i + 2 * L), a3 = simd_load(x + i + 3 * L);
      simd_store(y + i, f(a0));
      simd_store(y + i + L, f(a1));
      simd_store(y + i + 2 * L, f(a2));
      simd_store(y + i + 3 * L, f(a3));
    }
    for (; i + L <= n; i += L) simd_store(y + i, f(simd_load(x + i)));
    if (i < n) {
      alignas(64) T buf[L] = {};
      for (std::int64_t k = 0; k < n - i; ++k) buf[k] = x[i + k];
      f(B::load_aligned(buf)).store_aligned(buf);
      for (std::int64_t k = 0; k < n - i; ++k) y[i + k] = buf[k];
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  }
}

// y[i] = f(a[i], b[i]).
template <class T, class F>
void map_binary(const T* a, const T* b, T* y, std::int64_t n, const F& f) {
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    std::int64_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
      const B a0 = simd_load(a + i), a1 = simd_load(a + i + L), a2 = simd_load(a + i + 2 * L), a3 = simd_load(a + i + 3 * L);
      const B b0 = simd_load(b + i), b1 = simd_load(b + i + L), b2 = simd_load(b + i + 2 * L), b3 = simd_load(b + i + 3 * L);
      simd_store(y + i, f(a0, b0));
      simd_store(y + i + L, f(a1, b1));
      simd_store(y + i + 2 * L, f(a2, b2));
      simd_store(y + i + 3 * L, f(a3, b3));
    }
    for (; i + L <= n; i += L) simd_store(y + i, f(simd_load(a + i), simd_load(b + i)));
    if (i < n) {
      alignas(64) T ba[L] = {};
      alignas(64) T bb[L] = {};
      for (std::int64_t k = 0; k < n - i; ++k) {
        ba[k] = a[i + k];
        bb[k] = b[i + k];
      }
      f(B::load_aligned(ba), B::load_aligned(bb)).store_aligned(ba);
      for (std::int64_t k = 0; k < n - i; ++k) y[i + k] = ba[k];
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  }
}

// y[i] = f(a[i], s): vector op scalar.
template <class T, class F>
void map_binary_vs(const T* a, T s, T* y, std::int64_t n, const F& f) {
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    const B bs(s);
    std::int64_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
      const B a0 = simd_load(a + i), a1 = simd_load(a + i + L), a2 = simd_load(a + i + 2 * L), a3 = simd_load(a + i + 3 * L);
      simd_store(y + i, f(a0, bs));
      simd_store(y + i + L, f(a1, bs));
      simd_store(y + i + 2 * L, f(a2, bs));
      simd_store(y + i + 3 * L, f(a3, bs));
    }
    for (; i + L <= n; i += L) simd_store(y + i, f(simd_load(a + i), bs));
    if (i < n) {
      alignas(64) T ba[L] = {};
      for (std::int64_t k = 0; k < n - i; ++k) ba[k] = a[i + k];
      f(B::load_aligned(ba), bs).store_aligned(ba);
      for (std::int64_t k = 0; k < n - i; ++k) y[i + k] = ba[k];
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(a[i], s);
  }
}

// y[i] = f(s, b[i]): scalar op vector.
template <class T, class F>
void map_binary_sv(T s, const T* b, T* y, std::int64_t n, const F& f) {
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    const B as(s);
    std::int64_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
      const B b0 = simd_load(b + i), b1 = simd_load(b + i + L), b2 = simd_load(b + i + 2 * L), b3 = simd_load(b + i + 3 * L);
      simd_store(y + i, f(as, b0));
      simd_store(y + i + L, f(as, b1));
      simd_store(y + i + 2 * L, f(as, b2));
      simd_store(y + i + 3 * L, f(as, b3));
    }
    for (; i + L <= n; i += L) simd_store(y + i, f(as, simd_load(b + i)));
    if (i < n) {
      alignas(64) T bb[L] = {};
      for (std::int64_t k = 0; k < n - i; ++k) bb[k] = b[i + k];
      f(as, B::load_aligned(bb)).store_aligned(bb);
      for (std::int64_t k = 0; k < n - i; ++k) y[i + k] = bb[k];
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(s, b[i]);
  }
}

// y[i] = f(a[i], b[i], c[i]).
template <class T, class F>
void map_ternary(const T* a, const T* b, const T* c, T* y, std::int64_t n, const F& f) {
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    std::int64_t i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      const B a0 = simd_load(a + i), a1 = simd_load(a + i + L);
      const B b0 = simd_load(b + i), b1 = simd_load(b + i + L);
      const B c0 = simd_load(c + i), c1 = simd_load(c + i + L);
      simd_store(y + i, f(a0, b0, c0));
      simd_store(y + i + L, f(a1, b1, c1));
    }
    for (; i + L <= n; i += L) simd_store(y + i, f(simd_load(a + i), simd_load(b + i), simd_load(c + i)));
    if (i < n) {
      alignas(64) T ba[L] = {};
      alignas(64) T bb[L] = {};
      alignas(64) T bc[L] = {};
      for (std::int64_t k = 0; k < n - i; ++k) {
        ba[k] = a[i + k];
        bb[k] = b[i + k];
        bc[k] = c[i + k];
      }
      f(B::load_aligned(ba), B::load_aligned(bb), B::load_aligned(bc)).store_aligned(ba);
      for (std::int64_t k = 0; k < n - i; ++k) y[i + k] = ba[k];
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i], c[i]);
  }
}

// f applied to single values through the batch form (lane 0), so one-off
// values match those computed inside a map.
template <class T, class F>
T apply1(const F& f, T a) {
  if constexpr (simd_enabled<T>) {
    return first_lane(f(Batch<T>(a)));
  } else {
    return f(a);
  }
}
template <class T, class F>
T apply2(const F& f, T a, T b) {
  if constexpr (simd_enabled<T>) {
    return first_lane(f(Batch<T>(a), Batch<T>(b)));
  } else {
    return f(a, b);
  }
}

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

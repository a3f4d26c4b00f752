// Reduction kernels on contiguous buffers: runs ([O, R] -> [O]) and columns
// ([O, R, I] -> [O, I]); pairwise/cascaded sums, NaN-propagating max/min,
// first-occurrence argmax/argmin. Chunking never depends on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "nabla/kernels/elementwise.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/kernels/simd.hpp"
#include "nabla/detail/diagnostics.hpp"

NABLA_SIMD_WARNINGS_BEGIN

namespace nabla::kernels {

// Work per parallel chunk for reductions, in input elements.
inline constexpr std::int64_t reduce_grain = 32768;

// ---------------------------------------------------------------------------
// Sums. Leaves of up to 64 batches are summed in 4 SIMD accumulators and the
// leaves are combined pairwise, so float error grows ~log n rather than ~n.
template <class T>
T sum_leaf(const T* x, std::int64_t n) {
  std::int64_t i = 0;
  T total{};
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    if (n >= L) {
      B s0(T{0}), s1(T{0}), s2(T{0}), s3(T{0});
      for (; i + 4 * L <= n; i += 4 * L) {
        s0 += simd_load(x + i);
        s1 += simd_load(x + i + L);
        s2 += simd_load(x + i + 2 * L);
        s3 += simd_load(x + i + 3 * L);
      }
      for (; i + L <= n; i += L) s0 += simd_load(x + i);
      total = xsimd::hadd((s0 + s1) + (s2 + s3));
    }
  }
  for (; i < n; ++i) total += x[i];
  return total;
}

template <class T>
T sum_run(const T* x, std::int64_t n) {
  constexpr std::int64_t leaf = 64 * lanes<T>;
  if (n <= leaf) return sum_leaf(x, n);
  // Split at a multiple of the batch width so both halves stay SIMD-friendly.
  const std::int64_t half = (n / 2 + lanes<T> - 1) / lanes<T> * lanes<T>;
  return sum_run(x, half) + sum_run(x + half, n - half);
}

// Pairwise sum of a few partial results.
template <class T>
T sum_pairwise(const T* parts, std::int64_t n) {
  if (n == 1) return parts[0];
  const std::int64_t half = n / 2;
  return sum_pairwise(parts, half) + sum_pairwise(parts + half, n - half);
}

// Sum of a contiguous run, using threads for large n. Chunks depend on n
// only, so the result is identical for any thread count.
template <class T>
T sum_contiguous(const T* x, std::int64_t n) {
  constexpr std::int64_t max_parts = 256;
  if (n <= 2 * reduce_grain) return sum_run(x, n);
  std::int64_t chunk = std::max(reduce_grain, (n + max_parts - 1) / max_parts);
  chunk = (chunk + 63) / 64 * 64;
  const std::int64_t parts = (n + chunk - 1) / chunk;
  T partial[max_parts];
  parallel_for(0, parts, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const std::int64_t begin = p * chunk;
      partial[p] = sum_run(x + begin, std::min(chunk, n - begin));
    }
  });
  return sum_pairwise(partial, parts);
}

// ---------------------------------------------------------------------------
// Folds with an associative functor (max, min, prod): order does not change
// max/min, and prod is not held to the sum's accuracy.
struct ProdFold {
  template <class V> V operator()(const V& a, const V& b) const { return a * b; }
};
using MaxFold = MaximumOp;  // NaN-propagating
using MinFold = MinimumOp;

// Max or min of a run (n >= 1): plain max/min instructions in 4 accumulators
// and a separate NaN flag, since the hardware max drops NaN.
template <class T, bool Max>
T extreme_run(const T* x, std::int64_t n) {
  std::int64_t i = 0;
  T acc = x[0];
  bool nan = false;
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    if (n >= 4 * L) {
      B m0 = simd_load(x), m1 = simd_load(x + L), m2 = simd_load(x + 2 * L), m3 = simd_load(x + 3 * L);
      auto bad = xsimd::isnan(m0) | xsimd::isnan(m1) | xsimd::isnan(m2) | xsimd::isnan(m3);
      for (i = 4 * L; i + 4 * L <= n; i += 4 * L) {
        const B v0 = simd_load(x + i), v1 = simd_load(x + i + L), v2 = simd_load(x + i + 2 * L),
                v3 = simd_load(x + i + 3 * L);
        if constexpr (Max) {
          m0 = xsimd::max(m0, v0);
          m1 = xsimd::max(m1, v1);
          m2 = xsimd::max(m2, v2);
          m3 = xsimd::max(m3, v3);
        } else {
          m0 = xsimd::min(m0, v0);
          m1 = xsimd::min(m1, v1);
          m2 = xsimd::min(m2, v2);
          m3 = xsimd::min(m3, v3);
        }
        bad = bad | (xsimd::isnan(v0) | xsimd::isnan(v1)) | (xsimd::isnan(v2) | xsimd::isnan(v3));
      }
      nan = xsimd::any(bad);
      const B m = Max ? xsimd::max(xsimd::max(m0, m1), xsimd::max(m2, m3))
                      : xsimd::min(xsimd::min(m0, m1), xsimd::min(m2, m3));
      alignas(64) T lane[L];
      m.store_aligned(lane);
      acc = lane[0];
      for (std::int64_t k = 1; k < L; ++k) acc = Max ? std::max(acc, lane[k]) : std::min(acc, lane[k]);
    } else {
      i = 1;
    }
  } else {
    i = 1;
  }
  if constexpr (std::is_floating_point_v<T>) nan = nan || acc != acc;
  for (; i < n; ++i) {
    const T v = x[i];
    if constexpr (std::is_floating_point_v<T>) nan = nan || v != v;
    acc = Max ? (v > acc ? v : acc) : (v < acc ? v : acc);
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (nan) return std::numeric_limits<T>::quiet_NaN();
  }
  return acc;
}

template <class T, class F>
T fold_run(const T* x, std::int64_t n, const F& f) {
  // n >= 1.
  std::int64_t i = 0;
  T acc = x[0];
  if constexpr (simd_enabled<T>) {
    using B = Batch<T>;
    constexpr std::int64_t L = lanes<T>;
    if (n >= 2 * L) {
      B a0 = simd_load(x), a1 = simd_load(x + L);
      for (i = 2 * L; i + 2 * L <= n; i += 2 * L) {
        a0 = f(a0, simd_load(x + i));
        a1 = f(a1, simd_load(x + i + L));
      }
      a0 = f(a0, a1);
      alignas(64) T lanes_out[L];
      a0.store_aligned(lanes_out);
      acc = lanes_out[0];
      for (std::int64_t k = 1; k < L; ++k) acc = f(acc, lanes_out[k]);
    } else {
      i = 1;
    }
  } else {
    i = 1;
  }
  for (; i < n; ++i) acc = f(acc, x[i]);
  return acc;
}

// ---------------------------------------------------------------------------
// [O, R] contiguous -> out[O].
template <class T>
void sum_rows(const T* x, std::int64_t outer, std::int64_t r, T* out) {
  if (outer == 1) {
    out[0] = sum_contiguous(x, r);
    return;
  }
  const std::int64_t grain = std::max<std::int64_t>(1, reduce_grain / std::max<std::int64_t>(r, 1));
  parallel_for(0, outer, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) out[o] = sum_run(x + o * r, r);
  });
}

template <class T, class F>
void fold_rows(const T* x, std::int64_t outer, std::int64_t r, T* out, const F& f) {
  const std::int64_t grain = std::max<std::int64_t>(1, reduce_grain / std::max<std::int64_t>(r, 1));
  parallel_for(0, outer, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      if constexpr (std::is_same_v<F, MaxFold>) {
        out[o] = extreme_run<T, true>(x + o * r, r);
      } else if constexpr (std::is_same_v<F, MinFold>) {
        out[o] = extreme_run<T, false>(x + o * r, r);
      } else {
        out[o] = fold_run(x + o * r, r, f);
      }
    }
  });
}

// ---------------------------------------------------------------------------
// [O, R, I] contiguous -> out[O, I], summing down columns. A tile of 2 KiB
// of columns streams leaves of 16 rows into an L1-resident buffer, and the
// leaves merge through a binary-counter cascade (pairwise in effect), so the
// error grows ~log R while memory is read row by row.
template <class T>
void add_into(T* acc, const T* x, std::int64_t w) {
  std::int64_t j = 0;
  if constexpr (simd_enabled<T>) {
    constexpr std::int64_t L = lanes<T>;
    for (; j + L <= w; j += L) simd_store(acc + j, simd_load(acc + j) + simd_load(x + j));
  }
  for (; j < w; ++j) acc[j] += x[j];  // same IEEE add as a lane
}

// acc += (a + b) + (c + d): four rows per pass over the accumulator.
template <class T>
void add4_into(T* acc, const T* a, const T* b, const T* c, const T* d, std::int64_t w) {
  std::int64_t j = 0;
  if constexpr (simd_enabled<T>) {
    constexpr std::int64_t L = lanes<T>;
    for (; j + L <= w; j += L) {
      const auto ab = simd_load(a + j) + simd_load(b + j);
      const auto cd = simd_load(c + j) + simd_load(d + j);
      simd_store(acc + j, simd_load(acc + j) + (ab + cd));
    }
  }
  for (; j < w; ++j) acc[j] += (a[j] + b[j]) + (c[j] + d[j]);
}

template <class T>
inline constexpr std::int64_t sum_cols_width = 2048 / static_cast<std::int64_t>(sizeof(T));  // 2 KiB per row

template <class T>
void sum_cols_tile(const T* x, std::int64_t r, std::int64_t row_stride, std::int64_t w, T* out) {
  constexpr std::int64_t leaf_rows = 16;
  constexpr int max_levels = 24;
  alignas(64) T leaf[sum_cols_width<T>];
  alignas(64) T level[max_levels][sum_cols_width<T>];
  bool used[max_levels] = {};
  for (std::int64_t r0 = 0; r0 < r; r0 += leaf_rows) {
    const std::int64_t rows = std::min(leaf_rows, r - r0);
    const T* base = x + r0 * row_stride;
    std::copy(base, base + w, leaf);
    std::int64_t k = 1;
    for (; k + 4 <= rows; k += 4) {
      const T* p = base + k * row_stride;
      add4_into(leaf, p, p + row_stride, p + 2 * row_stride, p + 3 * row_stride, w);
    }
    for (; k < rows; ++k) add_into(leaf, base + k * row_stride, w);
    int lv = 0;
    while (lv < max_levels - 1 && used[lv]) {
      add_into(leaf, level[lv], w);
      used[lv] = false;
      ++lv;
    }
    if (used[lv]) {  // only past 2^23 leaves: fold into the top level
      add_into(level[lv], leaf, w);
    } else {
      std::copy(leaf, leaf + w, level[lv]);
      used[lv] = true;
    }
  }
  bool any = false;
  for (int lv = 0; lv < max_levels; ++lv) {
    if (!used[lv]) continue;
    if (!any) {
      std::copy(level[lv], level[lv] + w, out);
      any = true;
    } else {
      add_into(out, level[lv], w);
    }
  }
  if (!any) std::fill(out, out + w, T{});
}

template <class T>
void sum_cols(const T* x, std::int64_t outer, std::int64_t r, std::int64_t inner, T* out) {
  constexpr std::int64_t width = sum_cols_width<T>;
  const std::int64_t tiles = (inner + width - 1) / width;
  const std::int64_t grain = std::max<std::int64_t>(1, reduce_grain / std::max<std::int64_t>(r * std::min(width, inner), 1));
  parallel_for(0, outer * tiles, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t item = lo; item < hi; ++item) {
      const std::int64_t o = item / tiles;
      const std::int64_t j = (item % tiles) * width;
      sum_cols_tile(x + o * r * inner + j, r, inner, std::min(width, inner - j), out + o * inner + j);
    }
  });
}

// [O, R, I] -> out[O, I] with a fold, streaming whole rows (r >= 1).
template <class T, class F>
void fold_cols(const T* x, std::int64_t outer, std::int64_t r, std::int64_t inner, T* out, const F& f) {
  constexpr std::int64_t width = 1024;
  const std::int64_t tiles = (inner + width - 1) / width;
  const std::int64_t grain = std::max<std::int64_t>(1, reduce_grain / std::max<std::int64_t>(r * width, 1));
  parallel_for(0, outer * tiles, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t item = lo; item < hi; ++item) {
      const std::int64_t o = item / tiles;
      const std::int64_t j = (item % tiles) * width;
      const std::int64_t w = std::min(width, inner - j);
      const T* base = x + o * r * inner + j;
      T* dst = out + o * inner + j;
      std::copy(base, base + w, dst);
      for (std::int64_t k = 1; k < r; ++k) map_binary(dst, base + k * inner, dst, w, f);
    }
  });
}

// ---------------------------------------------------------------------------
// Arg-reductions: the first index of the max (or min); NaN counts as the
// extreme, as in PyTorch.
template <class T, bool Max>
bool arg_better(T v, T best) noexcept {
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return best == best;
  }
  if constexpr (Max) {
    return v > best;
  } else {
    return v < best;
  }
}

template <class T, bool Max>
std::int64_t arg_run(const T* x, std::int64_t n) {
  // n >= 1. Find the extreme with SIMD, then its first position.
  const T m = extreme_run<T, Max>(x, n);
  if constexpr (std::is_floating_point_v<T>) {
    if (m != m) {
      for (std::int64_t i = 0; i < n; ++i)
        if (x[i] != x[i]) return i;
    }
  }
  for (std::int64_t i = 0; i < n; ++i)
    if (x[i] == m) return i;
  return 0;
}

template <class T, bool Max>
void arg_rows(const T* x, std::int64_t outer, std::int64_t r, std::int64_t* idx, T* values) {
  const std::int64_t grain = std::max<std::int64_t>(1, reduce_grain / std::max<std::int64_t>(r, 1));
  parallel_for(0, outer, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const std::int64_t i = arg_run<T, Max>(x + o * r, r);
      idx[o] = i;
      if (values) values[o] = x[o * r + i];
    }
  });
}

// [O, R, I] -> idx[O, I] and values[O, I] (values is required: the running best).
template <class T, bool Max>
void arg_cols(const T* x, std::int64_t outer, std::int64_t r, std::int64_t inner, std::int64_t* idx, T* values) {
  const std::int64_t grain = std::max<std::int64_t>(1, reduce_grain / std::max<std::int64_t>(r * inner, 1));
  parallel_for(0, outer, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* base = x + o * r * inner;
      T* best = values + o * inner;
      std::int64_t* at = idx + o * inner;
      std::copy(base, base + inner, best);
      std::fill(at, at + inner, std::int64_t{0});
      for (std::int64_t k = 1; k < r; ++k) {
        const T* row = base + k * inner;
        for (std::int64_t j = 0; j < inner; ++j) {
          if (arg_better<T, Max>(row[j], best[j])) {
            best[j] = row[j];
            at[j] = k;
          }
        }
      }
    }
  });
}

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

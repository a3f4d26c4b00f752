// Elementwise kernels: functors for every unary/binary op (usable on a
// batch or a scalar) and the contiguous/strided drivers that apply them.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "nabla/core/shape.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/kernels/simd.hpp"
#include "nabla/detail/diagnostics.hpp"

NABLA_SIMD_WARNINGS_BEGIN

namespace nabla::kernels {

// Elements per parallel chunk: below this, threads cost more than they save.
inline constexpr std::int64_t elementwise_grain = 32768;

// ---------------------------------------------------------------------------
// Unary functors. Each takes V = T or Batch<T>.
struct NegOp {
  template <class V> V operator()(const V& x) const { return -x; }
};
struct ExpOp {
  template <class V> V operator()(const V& x) const { return xsimd::exp(x); }
};
struct LogOp {
  template <class V> V operator()(const V& x) const { return xsimd::log(x); }
};
struct Log1pOp {
  template <class V> V operator()(const V& x) const { return xsimd::log1p(x); }
};
struct Expm1Op {
  template <class V> V operator()(const V& x) const { return xsimd::expm1(x); }
};
struct SqrtOp {
  template <class V> V operator()(const V& x) const { return xsimd::sqrt(x); }
};
struct RsqrtOp {  // exact 1/sqrt, not the hardware estimate
  template <class V> V operator()(const V& x) const { return V(1) / xsimd::sqrt(x); }
};
namespace elementwise_detail {
template <class V, class = void>
struct lane_of { using type = V; };  // a plain scalar
template <class V>
struct lane_of<V, std::void_t<typename V::value_type>> { using type = typename V::value_type; };  // a batch
}  // namespace elementwise_detail

struct AbsOp {  // unsigned lanes are their own absolute value (clang warns on abs of them)
  template <class V> V operator()(const V& x) const {
    if constexpr (std::is_unsigned_v<typename elementwise_detail::lane_of<V>::type>) {
      return x;
    } else {
      return xsimd::abs(x);
    }
  }
};
struct SignOp {  // -1, 0, +1; NaN gives 0 as in PyTorch
  template <class V> V operator()(const V& x) const {
    return if_else(x > V(0), V(1), V(0)) - if_else(x < V(0), V(1), V(0));
  }
};
struct SquareOp {
  template <class V> V operator()(const V& x) const { return x * x; }
};
struct ReciprocalOp {
  template <class V> V operator()(const V& x) const { return V(1) / x; }
};
struct SinOp {
  template <class V> V operator()(const V& x) const { return xsimd::sin(x); }
};
struct CosOp {
  template <class V> V operator()(const V& x) const { return xsimd::cos(x); }
};
struct TanhOp {
  template <class V> V operator()(const V& x) const { return xsimd::tanh(x); }
};
struct SigmoidOp {  // exp(-x) overflows to inf for x << 0, and 1/inf = 0: no NaN
  template <class V> V operator()(const V& x) const { return V(1) / (V(1) + xsimd::exp(-x)); }
};
struct ReluOp {  // keeps NaN (PyTorch does)
  template <class V> V operator()(const V& x) const { return if_else(x < V(0), V(0), x); }
};
template <class T>
struct LeakyReluOp {
  T slope;
  template <class V> V operator()(const V& x) const { return if_else(x > V(0), x, x * V(slope)); }
};
template <class T>
struct GeluOp {  // exact: x/2 (1 + erf(x/sqrt2))
  template <class V> V operator()(const V& x) const {
    return V(T(0.5)) * x * (V(1) + xsimd::erf(x * V(T(0.70710678118654752440))));
  }
};
template <class T>
struct GeluTanhOp {  // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  template <class V> V operator()(const V& x) const {
    const V inner = V(T(0.79788456080286535588)) * (x + V(T(0.044715)) * x * x * x);
    return V(T(0.5)) * x * (V(1) + xsimd::tanh(inner));
  }
};
struct SiluOp {
  template <class V> V operator()(const V& x) const { return x / (V(1) + xsimd::exp(-x)); }
};
struct SoftplusOp {  // PyTorch's form: x above 20 (where exp may overflow), else log1p(exp(x))
  template <class V> V operator()(const V& x) const {
    return if_else(x > V(20), x, xsimd::log1p(xsimd::exp(x)));
  }
};
template <class T>
struct EluOp {
  T alpha;
  template <class V> V operator()(const V& x) const {
    return if_else(x > V(0), x, V(alpha) * xsimd::expm1(x));
  }
};
struct FloorOp {
  template <class V> V operator()(const V& x) const { return xsimd::floor(x); }
};
struct CeilOp {
  template <class V> V operator()(const V& x) const { return xsimd::ceil(x); }
};
struct RoundOp {  // half to even, as PyTorch and NumPy
  template <class V> V operator()(const V& x) const { return xsimd::nearbyint(x); }
};
template <class T>
struct ClampOp {  // keeps NaN
  T lo, hi;
  template <class V> V operator()(const V& x) const {
    return if_else(x < V(lo), V(lo), if_else(x > V(hi), V(hi), x));
  }
};
template <class T>
struct ScaleOp {  // x * s
  T s;
  template <class V> V operator()(const V& x) const { return x * V(s); }
};

// ---------------------------------------------------------------------------
// Binary functors.
struct AddOp {
  template <class V> V operator()(const V& a, const V& b) const { return a + b; }
};
struct SubOp {
  template <class V> V operator()(const V& a, const V& b) const { return a - b; }
};
struct MulOp {
  template <class V> V operator()(const V& a, const V& b) const { return a * b; }
};
struct DivOp {
  template <class V> V operator()(const V& a, const V& b) const { return a / b; }
};
struct PowOp {
  template <class V> V operator()(const V& a, const V& b) const { return xsimd::pow(a, b); }
};
struct Atan2Op {
  template <class V> V operator()(const V& a, const V& b) const { return xsimd::atan2(a, b); }
};
// xsimd's != is an ordered compare (false on NaN), so NaN tests use !(a == a).
struct MaximumOp {  // NaN in either input gives NaN
  template <class V> V operator()(const V& a, const V& b) const {
    return if_else((!(a == a)) | (a > b), a, b);
  }
};
struct MinimumOp {
  template <class V> V operator()(const V& a, const V& b) const {
    return if_else((!(a == a)) | (a < b), a, b);
  }
};
struct EqOp {
  template <class V> V operator()(const V& a, const V& b) const { return if_else(a == b, V(1), V(0)); }
};
struct NeOp {
  template <class V> V operator()(const V& a, const V& b) const { return if_else(a == b, V(0), V(1)); }
};
struct LtOp {
  template <class V> V operator()(const V& a, const V& b) const { return if_else(a < b, V(1), V(0)); }
};
struct LeOp {
  template <class V> V operator()(const V& a, const V& b) const { return if_else(a <= b, V(1), V(0)); }
};
struct GtOp {
  template <class V> V operator()(const V& a, const V& b) const { return if_else(a > b, V(1), V(0)); }
};
struct GeOp {
  template <class V> V operator()(const V& a, const V& b) const { return if_else(a >= b, V(1), V(0)); }
};
struct SubSquareOp {  // (a - b)^2: the deviations of var
  template <class V> V operator()(const V& a, const V& b) const {
    const V d = a - b;
    return d * d;
  }
};
struct ExpDiffOp {  // exp(a - b): the shifted exponentials of logsumexp
  template <class V> V operator()(const V& a, const V& b) const { return xsimd::exp(a - b); }
};
template <class T>
struct AxpyOp {  // a + alpha * b
  T alpha;
  template <class V> V operator()(const V& a, const V& b) const { return a + V(alpha) * b; }
};
template <class T>
struct LerpOp {  // PyTorch's two-sided form: exact at weight 0 and 1
  T weight;
  template <class V> V operator()(const V& start, const V& end) const {
    if (weight < T(0.5)) return start + V(weight) * (end - start);
    return end - (end - start) * V(T(1) - weight);
  }
};

// ---------------------------------------------------------------------------
// Ternary functors.
struct WhereOp {  // mask nonzero (NaN included) takes a
  template <class V> V operator()(const V& mask, const V& a, const V& b) const { return if_else(mask == V(0), b, a); }
};
template <class T>
struct AddcmulOp {  // d + value * a * b
  T value;
  template <class V> V operator()(const V& d, const V& a, const V& b) const { return d + V(value) * a * b; }
};
template <class T>
struct AddcdivOp {  // d + value * a / b
  T value;
  template <class V> V operator()(const V& d, const V& a, const V& b) const { return d + V(value) * (a / b); }
};

// ---------------------------------------------------------------------------
// Contiguous drivers, split in fixed chunks across threads when large.
template <class T, class F>
void unary_contiguous(const T* x, T* y, std::int64_t n, const F& f) {
  parallel_for(0, n, elementwise_grain, [&](std::int64_t lo, std::int64_t hi) { map_unary(x + lo, y + lo, hi - lo, f); });
}

template <class T, class F>
void binary_contiguous(const T* a, const T* b, T* y, std::int64_t n, const F& f) {
  parallel_for(0, n, elementwise_grain,
               [&](std::int64_t lo, std::int64_t hi) { map_binary(a + lo, b + lo, y + lo, hi - lo, f); });
}

template <class T, class F>
void binary_contiguous_vs(const T* a, T s, T* y, std::int64_t n, const F& f) {
  parallel_for(0, n, elementwise_grain,
               [&](std::int64_t lo, std::int64_t hi) { map_binary_vs(a + lo, s, y + lo, hi - lo, f); });
}

template <class T, class F>
void binary_contiguous_sv(T s, const T* b, T* y, std::int64_t n, const F& f) {
  parallel_for(0, n, elementwise_grain,
               [&](std::int64_t lo, std::int64_t hi) { map_binary_sv(s, b + lo, y + lo, hi - lo, f); });
}

template <class T, class F>
void ternary_contiguous(const T* a, const T* b, const T* c, T* y, std::int64_t n, const F& f) {
  parallel_for(0, n, elementwise_grain,
               [&](std::int64_t lo, std::int64_t hi) { map_ternary(a + lo, b + lo, c + lo, y + lo, hi - lo, f); });
}

// ---------------------------------------------------------------------------
// Strided drivers. N operands (inputs then the output) share one shape, each
// with its own strides (0 on broadcast axes).
template <std::size_t N>
struct StridedLayout {
  Shape shape;
  std::array<Shape, N> strides;
};

// Drops extent-1 axes and merges neighbours that every operand walks as one,
// so [N, C] + [C] stays 2-D and contiguous operands become 1-D. Rank >= 1.
template <std::size_t N>
StridedLayout<N> coalesce(const Shape& shape, const std::array<Shape, N>& strides) {
  StridedLayout<N> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.shape.empty();
    for (std::size_t k = 0; k < N && merge; ++k) merge = out.strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      const std::size_t last = out.shape.size() - 1;
      out.shape[last] *= shape[d];
      for (std::size_t k = 0; k < N; ++k) out.strides[k][last] = strides[k][d];
    } else {
      out.shape.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
    }
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back(0);
  }
  return out;
}

// Calls row(offsets, count) over runs of the innermost axis (offsets in
// elements for each operand at the run's start; the run has `count`
// elements). Rows, or pieces of one long row, are spread over threads.
template <std::size_t N, class Row>
void for_each_run(const StridedLayout<N>& layout, Row&& row) {
  const Shape& shape = layout.shape;
  const std::size_t rank = shape.size();
  const std::int64_t numel = shape.numel();
  if (numel == 0) return;
  const std::int64_t inner = shape[rank - 1];
  const std::int64_t rows = numel / inner;
  if (rows == 1) {
    parallel_for(0, inner, elementwise_grain, [&](std::int64_t lo, std::int64_t hi) {
      std::array<std::int64_t, N> off{};
      for (std::size_t k = 0; k < N; ++k) off[k] = lo * layout.strides[k][rank - 1];
      row(off, hi - lo);
    });
    return;
  }
  const std::int64_t grain = std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(inner, 1));
  parallel_for(0, rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    // Unravel row `lo` over the outer axes, then walk an odometer.
    Shape counter = Shape::filled(rank, 0);
    std::array<std::int64_t, N> off{};
    std::int64_t rest = lo;
    for (std::size_t d = rank - 1; d-- > 0;) {
      counter[d] = rest % shape[d];
      rest /= shape[d];
      for (std::size_t k = 0; k < N; ++k) off[k] += counter[d] * layout.strides[k][d];
    }
    for (std::int64_t r = lo; r < hi; ++r) {
      row(off, inner);
      for (std::size_t d = rank - 1; d-- > 0;) {
        if (++counter[d] < shape[d]) {
          for (std::size_t k = 0; k < N; ++k) off[k] += layout.strides[k][d];
          break;
        }
        for (std::size_t k = 0; k < N; ++k) off[k] -= (shape[d] - 1) * layout.strides[k][d];
        counter[d] = 0;
      }
    }
  });
}

// Block size for gathering strided runs into contiguous scratch.
inline constexpr std::int64_t gather_block = 256;

template <class T>
void gather(const T* src, std::int64_t stride, std::int64_t n, T* dst) {
  if (stride == 0) {
    std::fill(dst, dst + n, src[0]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
  }
}

template <class T>
void scatter(const T* src, std::int64_t n, T* dst, std::int64_t stride) {
  for (std::int64_t i = 0; i < n; ++i) dst[i * stride] = src[i];
}

// y = f(x) over a strided layout.
template <class T, class F>
void unary_strided(const Shape& shape, const T* x, const Shape& sx, T* y, const Shape& sy, const F& f) {
  const StridedLayout<2> layout = coalesce<2>(shape, {sx, sy});
  for_each_run(layout, [&](const std::array<std::int64_t, 2>& off, std::int64_t n) {
    const std::int64_t ix = layout.strides[0].back(), iy = layout.strides[1].back();
    const T* xp = x + off[0];
    T* yp = y + off[1];
    if (ix == 1 && iy == 1) {
      map_unary(xp, yp, n, f);
      return;
    }
    alignas(64) T bx[gather_block];
    for (std::int64_t i = 0; i < n; i += gather_block) {
      const std::int64_t m = std::min(gather_block, n - i);
      gather(xp + i * ix, ix, m, bx);
      if (iy == 1) {
        map_unary(bx, yp + i, m, f);
      } else {
        map_unary(bx, bx, m, f);
        scatter(bx, m, yp + i * iy, iy);
      }
    }
  });
}

// y = f(a, b) over a strided layout (broadcast axes have stride 0). Runs
// with unit or zero inner strides map straight from memory.
template <class T, class F>
void binary_strided(const Shape& shape, const T* a, const Shape& sa, const T* b, const Shape& sb, T* y,
                    const Shape& sy, const F& f) {
  const StridedLayout<3> layout = coalesce<3>(shape, {sa, sb, sy});
  const std::int64_t ia = layout.strides[0].back(), ib = layout.strides[1].back(), iy = layout.strides[2].back();
  for_each_run(layout, [&](const std::array<std::int64_t, 3>& off, std::int64_t n) {
    const T* ap = a + off[0];
    const T* bp = b + off[1];
    T* yp = y + off[2];
    if (iy == 1) {
      if (ia == 1 && ib == 1) return map_binary(ap, bp, yp, n, f);
      if (ia == 1 && ib == 0) return map_binary_vs(ap, *bp, yp, n, f);
      if (ia == 0 && ib == 1) return map_binary_sv(*ap, bp, yp, n, f);
      if (ia == 0 && ib == 0) {
        std::fill(yp, yp + n, apply2(f, *ap, *bp));
        return;
      }
    }
    alignas(64) T ba[gather_block];
    alignas(64) T bb[gather_block];
    for (std::int64_t i = 0; i < n; i += gather_block) {
      const std::int64_t m = std::min(gather_block, n - i);
      gather(ap + i * ia, ia, m, ba);
      gather(bp + i * ib, ib, m, bb);
      map_binary(ba, bb, ba, m, f);
      scatter(ba, m, yp + i * iy, iy);
    }
  });
}

// y = f(a, b, c) over a strided layout.
template <class T, class F>
void ternary_strided(const Shape& shape, const T* a, const Shape& sa, const T* b, const Shape& sb, const T* c,
                     const Shape& sc, T* y, const Shape& sy, const F& f) {
  const StridedLayout<4> layout = coalesce<4>(shape, {sa, sb, sc, sy});
  const std::int64_t ia = layout.strides[0].back(), ib = layout.strides[1].back(), ic = layout.strides[2].back(),
                     iy = layout.strides[3].back();
  for_each_run(layout, [&](const std::array<std::int64_t, 4>& off, std::int64_t n) {
    const T* ap = a + off[0];
    const T* bp = b + off[1];
    const T* cp = c + off[2];
    T* yp = y + off[3];
    if (ia == 1 && ib == 1 && ic == 1 && iy == 1) return map_ternary(ap, bp, cp, yp, n, f);
    alignas(64) T ba[gather_block];
    alignas(64) T bb[gather_block];
    alignas(64) T bc[gather_block];
    for (std::int64_t i = 0; i < n; i += gather_block) {
      const std::int64_t m = std::min(gather_block, n - i);
      const T* pa = ap + i * ia;
      const T* pb = bp + i * ib;
      const T* pc = cp + i * ic;
      if (ia != 1) {
        gather(pa, ia, m, ba);
        pa = ba;
      }
      if (ib != 1) {
        gather(pb, ib, m, bb);
        pb = bb;
      }
      if (ic != 1) {
        gather(pc, ic, m, bc);
        pc = bc;
      }
      if (iy == 1) {
        map_ternary(pa, pb, pc, yp + i, m, f);
      } else {
        map_ternary(pa, pb, pc, ba, m, f);
        scatter(ba, m, yp + i * iy, iy);
      }
    }
  });
}

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

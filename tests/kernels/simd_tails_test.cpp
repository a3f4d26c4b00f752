// SIMD bodies, tails and remainders at the width this build targets: every
// length up to two 4-batch unrolls past a batch, at every misalignment of the
// first element, for the elementwise maps, the scalar maps, reductions,
// softmax rows and max-pooling rows. Lengths come from the lane count, so an
// AVX-512 build (16 floats) is tested exactly as an AVX2 (8) or SSE2 (4) one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "nabla/kernels/simd.hpp"
#include "nabla/ops/elementwise.hpp"
#include "nabla/ops/nn.hpp"
#include "nabla/ops/reduce.hpp"

namespace {

using nabla::Shape;
using nabla::Tensor;
using I64 = std::int64_t;

// 0 .. 2 * 4L + L + 1: empty, tails only, one batch, the 4-batch unroll, and
// the unroll followed by single batches and a tail.
template <class T>
std::vector<I64> tail_lengths() {
  constexpr I64 L = nabla::kernels::lanes<T>;
  std::vector<I64> n;
  for (I64 i = 0; i <= 2 * 4 * L + L + 1; ++i) n.push_back(i);
  return n;
}

// A view of n values starting `offset` elements into a 64-byte aligned
// buffer: offsets 1 .. L - 1 make every SIMD load unaligned.
template <class T>
Tensor<T> view_at(const Tensor<T>& base, I64 offset, I64 n) {
  return base.slice(0, offset, offset + n);
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace

TEMPLATE_TEST_CASE("SIMD width: the lane count is the one the build targets", "[kernels][simd]", float, double) {
  using T = TestType;
  constexpr I64 L = nabla::kernels::lanes<T>;
#if defined(__AVX512F__)
  CHECK(L == 64 / static_cast<I64>(sizeof(T)));
#elif defined(__AVX__)
  CHECK(L == 32 / static_cast<I64>(sizeof(T)));
#else
  CHECK(L == 16 / static_cast<I64>(sizeof(T)));
#endif
}

TEMPLATE_TEST_CASE("SIMD tails: elementwise maps at every length and misalignment", "[kernels][simd]", float,
                   double) {
  using T = TestType;
  constexpr I64 L = nabla::kernels::lanes<T>;
  const I64 longest = 2 * 4 * L + L + 1;
  std::vector<T> xs(static_cast<std::size_t>(longest + L)), ys(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    xs[i] = static_cast<T>(-3.0 + 0.137 * static_cast<double>(i % 47));
    ys[i] = static_cast<T>(0.25 + 0.5 * static_cast<double>(i % 13));
  }
  const Tensor<T> xbase(Shape{static_cast<I64>(xs.size())}, xs);
  const Tensor<T> ybase(Shape{static_cast<I64>(ys.size())}, ys);
  // Every element goes through the batch form of the op, tails included, so
  // a value must not depend on where it sits: the aligned whole-buffer result
  // is the reference, bit for bit.
  const std::vector<T> exp_all = nabla::exp(xbase).to_vector();
  const std::vector<T> tanh_all = nabla::tanh(xbase).to_vector();
  const std::vector<T> sig_all = nabla::sigmoid(xbase).to_vector();
  const std::vector<T> log_all = nabla::log(ybase).to_vector();
  for (I64 offset = 0; offset < L; ++offset) {
    for (I64 n : tail_lengths<T>()) {
      INFO("offset " << offset << ", length " << n << ", lanes " << L);
      const Tensor<T> x = view_at(xbase, offset, n);
      const Tensor<T> y = view_at(ybase, offset, n);
      REQUIRE(x.is_contiguous());
      const auto e = nabla::exp(x).to_vector();
      const auto th = nabla::tanh(x).to_vector();
      const auto sg = nabla::sigmoid(x).to_vector();
      const auto lg = nabla::log(y).to_vector();
      const auto add = nabla::add(x, y).to_vector();
      const auto mul = nabla::mul(x, y).to_vector();
      const auto div = nabla::div(x, y).to_vector();
      const auto scaled = nabla::mul(x, T(3)).to_vector();
      const auto rsub = nabla::sub(T(1), y).to_vector();
      const auto relu = nabla::relu(x).to_vector();
      const auto clamp = nabla::clamp(x, T(-1), T(1)).to_vector();
      REQUIRE(e.size() == static_cast<std::size_t>(n));
      I64 bad = 0;
      for (I64 i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(offset + i);
        const auto j = static_cast<std::size_t>(i);
        const T xv = xs[k], yv = ys[k];
        bad += !same_bits(e[j], exp_all[k]) || !same_bits(th[j], tanh_all[k]) || !same_bits(sg[j], sig_all[k]) ||
               !same_bits(lg[j], log_all[k]);
        bad += std::abs(e[j] - std::exp(xv)) > 4 * std::numeric_limits<T>::epsilon() * std::exp(xv);
        bad += add[j] != xv + yv || mul[j] != xv * yv || div[j] != xv / yv || scaled[j] != xv * T(3) ||
               rsub[j] != T(1) - yv;
        bad += relu[j] != (xv < 0 ? T(0) : xv) || clamp[j] != std::min(T(1), std::max(T(-1), xv));
      }
      CHECK(bad == 0);
    }
  }
}

TEMPLATE_TEST_CASE("SIMD tails: reductions at every length and misalignment", "[kernels][simd]", float, double) {
  using T = TestType;
  constexpr I64 L = nabla::kernels::lanes<T>;
  const I64 longest = 2 * 4 * L + L + 1;
  // Small integers: every partial sum is exact, so any lane lost or counted
  // twice changes the result.
  std::vector<T> vs(static_cast<std::size_t>(longest + L));
  for (std::size_t i = 0; i < vs.size(); ++i) vs[i] = static_cast<T>((i * 7) % 11);
  for (I64 offset = 0; offset < L; ++offset) {
    for (I64 n : tail_lengths<T>()) {
      if (n == 0) continue;
      INFO("offset " << offset << ", length " << n << ", lanes " << L);
      std::vector<T> v(vs.begin() + offset, vs.begin() + offset + n);
      v[static_cast<std::size_t>(n - 1)] = T(50);  // the max sits in the last lane or the tail
      // Sentinels on both sides: a read before the view shows as min -5, one
      // after it as max 99.
      std::vector<T> padded(static_cast<std::size_t>(offset), T(-5));
      padded.insert(padded.end(), v.begin(), v.end());
      padded.insert(padded.end(), static_cast<std::size_t>(L), T(99));
      const Tensor<T> x = view_at(Tensor<T>(Shape{static_cast<I64>(padded.size())}, padded), offset, n);
      double expect = 0;
      for (T e : v) expect += static_cast<double>(e);
      CHECK(nabla::sum(x).item() == static_cast<T>(expect));
      CHECK(nabla::max(x).item() == T(50));
      CHECK(nabla::argmax(x).item() == n - 1);
      const auto lowest = std::min_element(v.begin(), v.end());
      CHECK(nabla::min(x).item() == *lowest);
      CHECK(nabla::argmin(x).item() == lowest - v.begin());
      CHECK(nabla::mean(x).item() == Approx(expect / static_cast<double>(n)).epsilon(1e-6));
    }
  }
}

TEMPLATE_TEST_CASE("SIMD tails: softmax and log-softmax rows of every width", "[kernels][simd]", float, double) {
  using T = TestType;
  for (I64 n : tail_lengths<T>()) {
    if (n == 0) continue;
    INFO("row width " << n << ", lanes " << nabla::kernels::lanes<T>);
    std::vector<T> v(static_cast<std::size_t>(3 * n));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(0.31 * static_cast<double>(i % 17) - 2.0);
    const Tensor<T> x(Shape{3, n}, v);
    const auto sm = nabla::softmax(x, 1).to_vector();
    const auto lsm = nabla::log_softmax(x, 1).to_vector();
    I64 bad = 0;
    for (I64 r = 0; r < 3; ++r) {
      double mx = -1e300, z = 0;
      for (I64 j = 0; j < n; ++j) mx = std::max(mx, static_cast<double>(v[static_cast<std::size_t>(r * n + j)]));
      for (I64 j = 0; j < n; ++j) z += std::exp(static_cast<double>(v[static_cast<std::size_t>(r * n + j)]) - mx);
      for (I64 j = 0; j < n; ++j) {
        const auto k = static_cast<std::size_t>(r * n + j);
        const double ref_log = static_cast<double>(v[k]) - mx - std::log(z);
        bad += std::abs(static_cast<double>(lsm[k]) - ref_log) > 1e-5 * (1 + std::abs(ref_log));
        bad += std::abs(static_cast<double>(sm[k]) - std::exp(ref_log)) > 1e-6;
      }
    }
    CHECK(bad == 0);
  }
}

TEMPLATE_TEST_CASE("SIMD tails: 2x2 max-pooling and 3x3 convolution over rows of every width", "[kernels][simd]",
                   float, double) {
  using T = TestType;
  constexpr I64 L = nabla::kernels::lanes<T>;
  for (I64 w = 2; w <= 4 * L + 3; ++w) {
    INFO("row width " << w << ", lanes " << L);
    const I64 h = 4;
    std::vector<T> v(static_cast<std::size_t>(2 * h * w));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(static_cast<double>((i * 13) % 29) - 14.0);
    const Tensor<T> x(Shape{1, 2, h, w}, v);
    const auto pooled = nabla::max_pool2d(x, 2).to_vector();
    const I64 wo = w / 2;
    I64 bad = 0;
    for (I64 c = 0; c < 2; ++c) {
      for (I64 i = 0; i < h / 2; ++i) {
        for (I64 j = 0; j < wo; ++j) {
          T m = -std::numeric_limits<T>::infinity();
          for (I64 di = 0; di < 2; ++di) {
            for (I64 dj = 0; dj < 2; ++dj) m = std::max(m, v[static_cast<std::size_t>((c * h + 2 * i + di) * w + 2 * j + dj)]);
          }
          bad += pooled[static_cast<std::size_t>((c * (h / 2) + i) * wo + j)] != m;
        }
      }
    }
    CHECK(bad == 0);
    // Integer-valued inputs and weights keep every product and sum exact.
    std::vector<T> wv(2 * 2 * 3 * 3);
    for (std::size_t i = 0; i < wv.size(); ++i) wv[i] = static_cast<T>(static_cast<double>(i % 5) - 2.0);
    const Tensor<T> weight(Shape{2, 2, 3, 3}, wv);
    const auto y = nabla::conv2d(x, weight, Tensor<T>(), 1, 1).to_vector();
    bad = 0;
    for (I64 k = 0; k < 2; ++k) {
      for (I64 i = 0; i < h; ++i) {
        for (I64 j = 0; j < w; ++j) {
          double s = 0;
          for (I64 c = 0; c < 2; ++c) {
            for (I64 di = 0; di < 3; ++di) {
              for (I64 dj = 0; dj < 3; ++dj) {
                const I64 ii = i + di - 1, jj = j + dj - 1;
                if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
                s += static_cast<double>(v[static_cast<std::size_t>((c * h + ii) * w + jj)]) *
                     static_cast<double>(wv[static_cast<std::size_t>(((k * 2 + c) * 3 + di) * 3 + dj)]);
              }
            }
          }
          bad += static_cast<double>(y[static_cast<std::size_t>((k * h + i) * w + j)]) != s;
        }
      }
    }
    CHECK(bad == 0);
  }
}

// Tests for kernels/gemm.hpp: the packed GEMM against a long-double triple
// loop on every transpose, edge shape and alpha/beta, NaN handling, and
// bit-identical results across thread counts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "nabla/kernels/gemm.hpp"
#include "nabla/kernels/parallel.hpp"

namespace {

using nabla::kernels::gemm;
using I64 = std::int64_t;

// Restores the thread count when a test leaves.
struct ThreadGuard {
  int saved = nabla::get_num_threads();
  ~ThreadGuard() { nabla::set_num_threads(saved); }
};

// A row-major operand of `rows` x `cols` stored with leading dimension
// cols + pad; the padding holds a sentinel that gemm must never change.
template <class T>
struct Operand {
  I64 rows, cols, ld;
  std::vector<T> data;
  Operand(I64 r, I64 c, I64 pad, std::mt19937& gen) : rows(r), cols(c), ld(c + pad) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    data.assign(static_cast<std::size_t>(std::max<I64>(r * ld, 1)), T(-777));
    for (I64 i = 0; i < r; ++i) {
      for (I64 j = 0; j < c; ++j) at(i, j) = static_cast<T>(dist(gen));
    }
  }
  T& at(I64 i, I64 j) { return data[static_cast<std::size_t>(i * ld + j)]; }
  T at(I64 i, I64 j) const { return data[static_cast<std::size_t>(i * ld + j)]; }
};

// Runs gemm on random operands and compares every element of C with a
// long-double reference, to within a bound relative to sum |alpha a b| + |beta c|.
template <class T>
void check_gemm(bool ta, bool tb, I64 m, I64 n, I64 k, T alpha, T beta, I64 pad, unsigned seed) {
  std::mt19937 gen(seed);
  const Operand<T> a(ta ? k : m, ta ? m : k, pad, gen);
  const Operand<T> b(tb ? n : k, tb ? k : n, pad + 1, gen);
  Operand<T> c(m, n, pad + 2, gen);
  const Operand<T> c0 = c;
  gemm<T>(ta, tb, m, n, k, alpha, a.data.data(), a.ld, b.data.data(), b.ld, beta, c.data.data(), c.ld);
  const long double eps = std::numeric_limits<T>::epsilon();
  I64 bad = 0;
  for (I64 i = 0; i < m; ++i) {
    for (I64 j = 0; j < n; ++j) {
      long double sum = 0, mag = 0;
      for (I64 p = 0; p < k; ++p) {
        const long double x = ta ? a.at(p, i) : a.at(i, p);
        const long double y = tb ? b.at(j, p) : b.at(p, j);
        sum += x * y;
        mag += std::fabs(x * y);
      }
      long double expect = static_cast<long double>(alpha) * sum;
      long double bound = std::fabs(static_cast<long double>(alpha)) * mag;
      if (beta != T(0)) {
        expect += static_cast<long double>(beta) * c0.at(i, j);
        bound += std::fabs(static_cast<long double>(beta) * c0.at(i, j));
      }
      const long double tol = 2 * static_cast<long double>(k + 2) * eps * bound + eps;
      if (!(std::fabs(static_cast<long double>(c.at(i, j)) - expect) <= tol)) ++bad;
    }
    for (I64 j = n; j < c.ld; ++j) {
      if (c.at(i, j) != T(-777)) ++bad;  // padding untouched
    }
  }
  INFO("ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << " alpha=" << alpha
             << " beta=" << beta << " pad=" << pad);
  CHECK(bad == 0);
}

template <class T>
std::vector<std::tuple<I64, I64, I64>> edge_shapes() {
  constexpr I64 mr = nabla::kernels::gemm_detail::Blocking<T>::mr;
  constexpr I64 nr = nabla::kernels::gemm_detail::Blocking<T>::nr;
  const std::vector<I64> dims = {1, 2, 3, 5, 7, mr - 1, mr, mr + 1, nr - 1, nr, nr + 1, 17, 63, 64, 65, 130, 257};
  std::vector<std::tuple<I64, I64, I64>> shapes = {{1, 1, 1}};
  for (const I64 d : dims) {
    shapes.emplace_back(d, 17, 33);
    shapes.emplace_back(19, d, 33);
    shapes.emplace_back(13, 11, d);
    if (d <= 65) shapes.emplace_back(d, d, d);
  }
  return shapes;
}

template <class T>
void check_all_edges() {
  unsigned seed = 1;
  for (const auto& [m, n, k] : edge_shapes<T>()) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        for (const T alpha : {T(1), T(-0.5)}) {
          for (const T beta : {T(0), T(1), T(0.7)}) {
            check_gemm<T>(ta, tb, m, n, k, alpha, beta, (seed % 3) * 2, seed);
            ++seed;
          }
        }
      }
    }
  }
}

// Products big enough for several k-blocks, several tiles and the thread pool.
template <class T>
void check_large() {
  ThreadGuard guard;
  unsigned seed = 100;
  // n = 1023 with no padding: rows of B (ld 1024) 4 KB apart for float, packed
  // row by row rather than panel by panel.
  const std::vector<std::tuple<I64, I64, I64>> shapes = {
      {65, 63, 600}, {130, 257, 65}, {257, 130, 600}, {7, 300, 1100}, {33, 1023, 70}};
  for (const int threads : {1, 2}) {
    nabla::set_num_threads(threads);
    for (const auto& [m, n, k] : shapes) {
      for (const bool ta : {false, true}) {
        for (const bool tb : {false, true}) {
          check_gemm<T>(ta, tb, m, n, k, T(1), T(0), 3, seed++);
          check_gemm<T>(ta, tb, m, n, k, T(-0.5), T(0.7), 0, seed++);
        }
      }
    }
    // Packed copies too big for one go: k runs in groups of k-blocks.
    check_gemm<T>(false, false, 2000, 16, 2100, T(1), T(0.7), 1, seed++);
    check_gemm<T>(true, true, 2000, 16, 2100, T(-0.5), T(0), 0, seed++);
  }
}

// C = alpha * op(A) op(B) + beta * C into a fresh C filled with `fill`.
template <class T>
std::vector<T> run_gemm(bool ta, bool tb, I64 m, I64 n, I64 k, T beta, T fill, unsigned seed, T alpha = T(1)) {
  std::mt19937 gen(seed);
  const Operand<T> a(ta ? k : m, ta ? m : k, 0, gen);
  const Operand<T> b(tb ? n : k, tb ? k : n, 0, gen);
  std::vector<T> c(static_cast<std::size_t>(m * n), fill);
  gemm<T>(ta, tb, m, n, k, alpha, a.data.data(), a.ld, b.data.data(), b.ld, beta, c.data(), n);
  return c;
}

// The one-thread paths that read an operand in place (swapped product,
// in-place A) against the two-thread packed path, bit for bit.
template <class T>
void check_swapped_bits() {
  namespace gd = nabla::kernels::gemm_detail;
  const I64 rows = gd::swap_rows_max<T>, cols = gd::in_place_a_cols<T>;
  const std::vector<std::tuple<I64, I64, I64>> shapes = {
      {rows, 256, 784}, {rows - 5, 1000, 97}, {rows - 1, rows, 3000}, {1024, cols, 200}, {1000, cols - 3, 77}};
  for (const auto& shape : shapes) {
    const I64 m = std::get<0>(shape), n = std::get<1>(shape);
    // k large enough that two threads take the packed parallel path (the
    // limits above are smaller with narrower SIMD).
    const I64 k = std::max(std::get<2>(shape), gd::parallel_work / (m * n) + 1);
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        INFO("m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb);
        REQUIRE(m * n * k >= gd::parallel_work);
        nabla::set_num_threads(1);
        const std::vector<T> one = run_gemm<T>(ta, tb, m, n, k, T(0.7), T(0.5), 11, T(-0.5));
        const std::vector<T> zero_beta = run_gemm<T>(ta, tb, m, n, k, T(0), T(0), 12, T(2));
        nabla::set_num_threads(2);
        CHECK(run_gemm<T>(ta, tb, m, n, k, T(0.7), T(0.5), 11, T(-0.5)) == one);
        CHECK(run_gemm<T>(ta, tb, m, n, k, T(0), T(0), 12, T(2)) == zero_beta);
      }
    }
  }
}

// gemm_bias against filling C's rows with the bias and gemm with alpha =
// beta = 1, bit for bit, on every route: direct loops, packed, swapped
// (in one and in two passes of columns), threaded, and k = 0. The padding
// of C stays untouched.
template <class T>
void check_gemm_bias() {
  ThreadGuard guard;
  namespace gd = nabla::kernels::gemm_detail;
  const I64 rows = gd::swap_rows_max<T>;
  const std::vector<std::tuple<I64, I64, I64>> shapes = {
      {rows, 256, 784}, {rows - 3, gd::swap_cols + 37, 50}, {64, 10, 128}, {2, 50, 30}, {3, 3, 3},
      {7, 300, 90},     {200, 300, 100},                     {300, 200, 400}, {5, 7, 0}};
  unsigned seed = 300;
  for (const int threads : {1, 2}) {
    nabla::set_num_threads(threads);
    for (const auto& [m, n, k] : shapes) {
      for (const bool ta : {false, true}) {
        for (const bool tb : {false, true}) {
          INFO("threads=" << threads << " m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb);
          std::mt19937 gen(seed++);
          const Operand<T> a(ta ? k : m, ta ? m : k, 1, gen);
          const Operand<T> b(tb ? n : k, tb ? k : n, 2, gen);
          const Operand<T> bias(1, n, 0, gen);
          Operand<T> expect(m, n, 3, gen);
          Operand<T> got = expect;
          for (I64 i = 0; i < m; ++i) {
            for (I64 j = 0; j < n; ++j) expect.at(i, j) = bias.at(0, j);
          }
          gemm<T>(ta, tb, m, n, k, T(1), a.data.data(), a.ld, b.data.data(), b.ld, T(1), expect.data.data(),
                  expect.ld);
          nabla::kernels::gemm_bias<T>(ta, tb, m, n, k, a.data.data(), a.ld, b.data.data(), b.ld, bias.data.data(),
                                       got.data.data(), got.ld);
          CHECK(got.data == expect.data);  // padding included
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("gemm_bias gives the bits of a bias-filled C and beta = 1 on every route", "[kernels][gemm]") {
  check_gemm_bias<float>();
  check_gemm_bias<double>();
}

TEST_CASE("gemm matches a long-double reference on every edge shape (float)", "[kernels][gemm]") {
  check_all_edges<float>();
}

TEST_CASE("gemm matches a long-double reference on every edge shape (double)", "[kernels][gemm]") {
  check_all_edges<double>();
}

TEST_CASE("gemm matches the reference on large products, 1 and 2 threads", "[kernels][gemm]") {
  check_large<float>();
  check_large<double>();
}

TEST_CASE("gemm with k = 0 or alpha = 0 scales C by beta; empty C is untouched", "[kernels][gemm]") {
  std::vector<float> c = {1, 2, 3, 4, 5, 6};
  const float a = 0, b = 0;
  gemm<float>(false, false, 2, 3, 0, 1.0f, &a, 1, &b, 3, 0.5f, c.data(), 3);
  CHECK(c == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
  std::vector<double> d(6, std::numeric_limits<double>::quiet_NaN());
  const std::vector<double> ones(6, 1.0);
  gemm<double>(false, false, 2, 3, 2, 0.0, ones.data(), 2, ones.data(), 3, 0.0, d.data(), 3);
  CHECK(d == std::vector<double>(6, 0.0));
  gemm<double>(false, false, 2, 3, 0, 1.0, ones.data(), 1, ones.data(), 3, 1.0, d.data(), 3);
  CHECK(d == std::vector<double>(6, 0.0));
  std::vector<float> untouched = {7, 8};
  gemm<float>(false, false, 0, 2, 5, 1.0f, &a, 5, &b, 2, 0.0f, untouched.data(), 2);
  gemm<float>(false, false, 2, 0, 5, 1.0f, &a, 5, &b, 0, 0.0f, untouched.data(), 0);
  CHECK(untouched == std::vector<float>{7, 8});
}

TEST_CASE("gemm hand-checked product and a type without SIMD", "[kernels][gemm]") {
  // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
  const std::vector<double> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
  std::vector<double> c(4);
  gemm<double>(false, false, 2, 2, 2, 1.0, a.data(), 2, b.data(), 2, 0.0, c.data(), 2);
  CHECK(c == std::vector<double>{19, 22, 43, 50});
  // A^T B^T = (B A)^T: [[1, 3], [2, 4]] @ [[5, 7], [6, 8]] = [[23, 31], [34, 46]]
  gemm<double>(true, true, 2, 2, 2, 1.0, a.data(), 2, b.data(), 2, 0.0, c.data(), 2);
  CHECK(c == std::vector<double>{23, 31, 34, 46});
  const std::vector<std::int64_t> ai = {1, 2, 3, 4, 5, 6}, bi = {1, 0, -1, 2, 3, 1};  // [2, 3] @ [3, 2]
  std::vector<std::int64_t> ci = {100, 100, 100, 100};
  gemm<std::int64_t>(false, false, 2, 2, 3, 2, ai.data(), 3, bi.data(), 2, 1, ci.data(), 2);
  // [[1*1 + 2*-1 + 3*3, 0 + 4 + 3], [4 - 5 + 18, 0 + 10 + 6]] = [[8, 7], [17, 16]]
  CHECK(ci == std::vector<std::int64_t>{116, 114, 134, 132});
}

TEST_CASE("gemm with beta = 0 never reads C; NaN in A stays in its row", "[kernels][gemm]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Direct (tiny, m = 1), packed serial and packed parallel paths, every transpose.
  const std::vector<std::tuple<I64, I64, I64>> shapes = {{1, 37, 9}, {5, 6, 7}, {40, 50, 60}, {200, 130, 150}};
  for (const auto& [m, n, k] : shapes) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        INFO("m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb);
        for (const float v : run_gemm<float>(ta, tb, m, n, k, 0.0f, nan, 3)) REQUIRE(!std::isnan(v));
        for (const double v : run_gemm<double>(ta, tb, m, n, k, 0.0, std::numeric_limits<double>::quiet_NaN(), 3)) {
          REQUIRE(!std::isnan(v));
        }
        // A NaN at op(A)[r, 1] poisons row r of C and nothing else.
        std::mt19937 gen(5);
        Operand<float> a(ta ? k : m, ta ? m : k, 1, gen);
        const Operand<float> b(tb ? n : k, tb ? k : n, 0, gen);
        const I64 r = m / 2;
        (ta ? a.at(1 % k, r) : a.at(r, 1 % k)) = nan;
        std::vector<float> c(static_cast<std::size_t>(m * n), 0.0f);
        gemm<float>(ta, tb, m, n, k, 1.0f, a.data.data(), a.ld, b.data.data(), b.ld, 0.0f, c.data(), n);
        for (I64 i = 0; i < m; ++i) {
          for (I64 j = 0; j < n; ++j) REQUIRE(std::isnan(c[static_cast<std::size_t>(i * n + j)]) == (i == r));
        }
      }
    }
  }
}

TEST_CASE("gemm is bit-identical for 1, 2 and 3 threads and inside a parallel region", "[kernels][gemm]") {
  ThreadGuard guard;
  const std::vector<std::tuple<I64, I64, I64>> shapes = {{64, 256, 784}, {300, 301, 302}, {1024, 96, 200}};
  for (const auto& shape : shapes) {
    // Plain variables: clang 14 cannot capture structured bindings in a lambda.
    const I64 m = std::get<0>(shape), n = std::get<1>(shape), k = std::get<2>(shape);
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        INFO("m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb);
        nabla::set_num_threads(1);
        const std::vector<float> f1 = run_gemm<float>(ta, tb, m, n, k, 0.0f, 0.0f, 9);
        const std::vector<double> d1 = run_gemm<double>(ta, tb, m, n, k, 0.5, 1.0, 9);
        for (const int threads : {2, 3}) {
          nabla::set_num_threads(threads);
          CHECK(run_gemm<float>(ta, tb, m, n, k, 0.0f, 0.0f, 9) == f1);
          CHECK(run_gemm<double>(ta, tb, m, n, k, 0.5, 1.0, 9) == d1);
        }
        // Two products at once, each running serially inside the region.
        nabla::set_num_threads(2);
        std::vector<float> f2;
        std::vector<double> d2;
        nabla::kernels::parallel_for(0, 2, 1, [&](I64 lo, I64 hi) {
          for (I64 t = lo; t < hi; ++t) {
            if (t == 0) {
              f2 = run_gemm<float>(ta, tb, m, n, k, 0.0f, 0.0f, 9);
            } else {
              d2 = run_gemm<double>(ta, tb, m, n, k, 0.5, 1.0, 9);
            }
          }
        });
        CHECK(f2 == f1);
        CHECK(d2 == d1);
      }
    }
  }
}

TEST_CASE("gemm's swapped product and in-place A match the reference and the threaded bits", "[kernels][gemm]") {
  // One thread runs B transposed with few rows of C as C^T = B op(A)^T
  // (B read in place), and A read in place when C has few columns; two
  // threads pack every panel. Both must give the same bits, and the right values.
  ThreadGuard guard;
  namespace gd = nabla::kernels::gemm_detail;
  const I64 rows_max = gd::swap_rows_max<float>;
  const I64 cols_max = gd::in_place_a_cols<float>;
  // (The limits scale with the SIMD width: 64 rows with AVX, 32 with SSE2.)
  REQUIRE(gd::swap_pays<float>(true, rows_max, 4 * rows_max));
  REQUIRE(!gd::swap_pays<float>(true, rows_max, gd::Blocking<float>::nr - 1));  // direct dot products
  REQUIRE(!gd::swap_pays<float>(false, rows_max, 4 * rows_max));
  REQUIRE(!gd::swap_pays<float>(true, rows_max + 1, 1000));
  unsigned seed = 500;
  // Rows of C around the swap limit, columns around the in-place limit, B
  // panels partly filled, k across several blocks, padded leading dimensions.
  const std::vector<std::tuple<I64, I64, I64>> shapes = {
      {64, 256, 784}, {rows_max, rows_max + 1, 300}, {rows_max + 1, 200, 70}, {23, 10, 129}, {64, 10, 128},
      {40, 1000, 97}, {300, cols_max, 600}, {301, cols_max + 1, 50}, {257, 17, 33}, {13, 5, 700},
      {9, gd::swap_cols + 37, 20}};  // the swapped product in two passes over the columns
  nabla::set_num_threads(1);
  for (const auto& [m, n, k] : shapes) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        check_gemm<float>(ta, tb, m, n, k, 1.0f, 0.0f, 2, seed++);
        check_gemm<float>(ta, tb, m, n, k, -0.5f, 0.7f, 1, seed++);
        check_gemm<double>(ta, tb, m, n, k, 0.25, 1.0, 0, seed++);
      }
    }
  }
  check_swapped_bits<float>();
  check_swapped_bits<double>();
}

TEST_CASE("gemm_threads reports nabla's thread count", "[kernels][gemm]") {
  CHECK(nabla::kernels::gemm_threads() == nabla::get_num_threads());
}

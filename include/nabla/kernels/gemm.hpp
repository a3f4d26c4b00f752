// GEMM on raw row-major buffers: C = alpha * op(A) * op(B) + beta * C, a
// packed, register-blocked product (GotoBLAS/BLIS style) with xsimd batches.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "nabla/config.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/kernels/simd.hpp"
#include "nabla/detail/diagnostics.hpp"

#if defined(__AVX__)
#include <immintrin.h>
#endif

NABLA_SIMD_WARNINGS_BEGIN

namespace nabla::kernels {

namespace gemm_detail {

// Why results never depend on the thread count: C[i, j] is the sum over
// fixed k-blocks (set by k alone) of one microkernel accumulation per block,
// each lane summing its own products in p order, then written back as
// alpha * acc + beta' * C. Packing moves values without touching them, and
// an edge tile runs the same kernel on zero padding, so neither the tile
// grid nor the thread that runs a tile can change a bit.
template <class T>
struct Blocking {
  static constexpr std::int64_t lanes = kernels::lanes<T>;
  // Register block: mr rows x 2 batches; 12 accumulators + 2 B batches + 1
  // broadcast fit the 16 vector registers of SSE2/AVX2.
  static constexpr std::int64_t mr = 6;
  static constexpr std::int64_t nr = 2 * lanes;
  // kc: one B micro-panel (kc x nr) takes half of Zen 3's 32 KB L1d, beside an A micro-panel.
  static constexpr std::int64_t kc = std::clamp<std::int64_t>(16384 / (nr * std::int64_t{sizeof(T)}), 128, 512);
  // mc: a packed A block (mc x kc) takes about half of the 512 KB L2.
  static constexpr std::int64_t mc = (262144 / (kc * std::int64_t{sizeof(T)})) / mr * mr;
  // nc: a packed B slab (kc x nc) stays around 2 MB, a slice of the 32 MB L3 per thread.
  static constexpr std::int64_t nc = (2097152 / (kc * std::int64_t{sizeof(T)})) / nr * nr;
};

// Below this many multiply-adds (m * n * k) the product runs on the direct
// loops: packing would cost more than it saves.
inline constexpr std::int64_t direct_work = 4096;
// Up to this many rows of C, the direct loops beat a mostly empty 6-row
// register block (measured on Zen 3: rows of B summed SIMD over n; dot
// products SIMD over k, which also win when n is below one panel).
inline constexpr std::int64_t direct_rows_max = 2;
inline constexpr std::int64_t direct_dots_max = 4;
// With at most this many columns of C, A (not transposed) is read in place
// by the micro-kernel instead of packed: each A panel would serve only a few
// B panels, too few to repay its copy (the last partial panel is packed).
template <class T>
inline constexpr std::int64_t in_place_a_cols = 4 * Blocking<T>::nr;
// A serial product with B transposed and at most this many rows of C runs
// as C^T = B op(A)^T in a scratch buffer: B (a layer's weight [out, in] in
// x W^T) is then read in place rather than transposed into panels, and
// only the smaller op(A) is packed (measured on Zen 3: 64 x 256 x 784 in
// 280 instead of 305 us).
template <class T>
inline constexpr std::int64_t swap_rows_max = 4 * Blocking<T>::nr;
// Below this many multiply-adds the product runs on the calling thread: an
// OpenMP region costs tens of microseconds to wake on a busy machine.
inline constexpr std::int64_t parallel_work = std::int64_t{1} << 21;
// Threaded products cut C into at most max_tiles tiles of at least
// min_tile_work multiply-adds (enough to balance 2-8 threads; large tiles
// reuse each packed panel more).
inline constexpr std::int64_t max_tiles = 8;
inline constexpr std::int64_t min_tile_work = std::int64_t{1} << 20;
// Threaded products pack all of op(A) and op(B) up front, at most this many
// elements at a time (k is cut into groups of k-blocks beyond it).
inline constexpr std::int64_t shared_pack = std::int64_t{1} << 22;
// Columns of op(B) per packing job when threads pack together.
inline constexpr std::int64_t pack_cols = 128;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
inline std::int64_t round_up(std::int64_t a, std::int64_t b) { return ceil_div(a, b) * b; }

// Packing buffers of the calling thread, grown on demand and kept for the
// next call: slots 0-1 for the serial loops, 2-3 shared by a threaded call,
// 4 for the transposed C of a swapped product.
template <class T>
T* workspace(std::size_t slot, std::int64_t size) {
  thread_local std::vector<T, xsimd::aligned_allocator<T, 64>> buffers[5];
  auto& buf = buffers[slot];
  if (static_cast<std::int64_t>(buf.size()) < size) buf.resize(static_cast<std::size_t>(size));
  return buf.data();
}

// Transposes in registers for packing (AVX): square blocks for a transposed
// B, out[q * ldo + r] = src[r * lds + q] on a t x t block, t =
// transpose_width (1: none, the caller's scalar loop does it).
template <class T>
inline constexpr std::int64_t transpose_width = 1;
#if defined(__AVX__)
template <>
inline constexpr std::int64_t transpose_width<float> = 8;
template <>
inline constexpr std::int64_t transpose_width<double> = 4;

// r[q] = column q of the 8 x 8 block held in rows r[0..7].
inline void transpose8(__m256* r) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

inline void transpose_block(const float* src, std::int64_t lds, float* out, std::int64_t ldo) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  transpose8(r);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + i * ldo, r[i]);
}

// Six rows (stride lds) x 8 values of p into out[q * 6 + r]; writes 2 values
// past the 48, which the caller overwrites next.
inline void pack_six_rows(const float* src, std::int64_t lds, float* out) {
  __m256 r[8];
  for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  r[6] = r[5];
  r[7] = r[5];
  transpose8(r);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + i * 6, r[i]);
}

inline void transpose_block(const double* src, std::int64_t lds, double* out, std::int64_t ldo) {
  const __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + lds);
  const __m256d r2 = _mm256_loadu_pd(src + 2 * lds), r3 = _mm256_loadu_pd(src + 3 * lds);
  const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  _mm256_storeu_pd(out, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(out + ldo, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(out + 2 * ldo, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(out + 3 * ldo, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#else
template <class T>
void transpose_block(const T* src, std::int64_t lds, T* out, std::int64_t ldo) {
  out[0] = src[0];  // never called: transpose_width is 1
  (void)lds;
  (void)ldo;
}
#endif

// Packs op(A)[0:mb, 0:kb] (a points at its first element) into panels of mr
// rows, each stored p-major (mr values per p), rows past mb zero.
template <class T>
void pack_a(bool trans, const T* a, std::int64_t lda, std::int64_t mb, std::int64_t kb, T* out) {
  constexpr std::int64_t mr = Blocking<T>::mr;
  static_assert(mr == 6, "pack_a and micro_kernel are written for 6 rows");
  for (std::int64_t i0 = 0; i0 < mb; i0 += mr, out += mr * kb) {
    const std::int64_t rows = std::min(mr, mb - i0);
    if (!trans && rows == mr) {
      // Six row streams read in step; one pointer each keeps the loop lean.
      const T* r0 = a + i0 * lda;
      const T *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda, *r4 = r3 + lda, *r5 = r4 + lda;
      std::int64_t p = 0;
#if defined(__AVX__)
      // Blocks of 8 p transposed in registers; each spills 2 values into the
      // next block's place (p + 8 < kb keeps them inside this panel).
      if constexpr (std::is_same_v<T, float>) {
        for (; p + 8 < kb; p += 8) pack_six_rows(r0 + p, lda, out + p * mr);
      }
#endif
      for (; p < kb; ++p) {
        T* o = out + p * mr;
        o[0] = r0[p];
        o[1] = r1[p];
        o[2] = r2[p];
        o[3] = r3[p];
        o[4] = r4[p];
        o[5] = r5[p];
      }
    } else if (trans && rows == mr) {
      // Six contiguous values per p.
      const T* src = a + i0;
      std::int64_t p = 0;
#if defined(__AVX__)
      // 8-wide copies where 8 rows exist; each spills 2 values into the next
      // p's place (p + 1 < kb keeps them inside this panel).
      if constexpr (std::is_same_v<T, float>) {
        if (mb - i0 >= 8) {
          for (; p + 1 < kb; ++p) _mm256_storeu_ps(out + p * mr, _mm256_loadu_ps(src + p * lda));
        }
      }
#endif
      for (; p < kb; ++p) {
        const T* s = src + p * lda;
        T* o = out + p * mr;
        o[0] = s[0];
        o[1] = s[1];
        o[2] = s[2];
        o[3] = s[3];
        o[4] = s[4];
        o[5] = s[5];
      }
    } else {
      std::fill(out, out + mr * kb, T(0));
      if (!trans) {
        for (std::int64_t r = 0; r < rows; ++r) {
          for (std::int64_t p = 0; p < kb; ++p) out[p * mr + r] = a[(i0 + r) * lda + p];
        }
      } else {
        for (std::int64_t p = 0; p < kb; ++p) std::copy(a + p * lda + i0, a + p * lda + i0 + rows, out + p * mr);
      }
    }
  }
}

// Packs op(B)[0:kb, 0:nb] into panels of nr columns, each stored p-major
// (nr values per p), columns past nb zero.
template <class T>
void pack_b(bool trans, const T* b, std::int64_t ldb, std::int64_t kb, std::int64_t nb, T* out) {
  constexpr std::int64_t nr = Blocking<T>::nr;
  constexpr std::int64_t L = Blocking<T>::lanes;
  using B = Batch<T>;
  const std::int64_t full = nb / nr * nr;
  if (!trans && (ldb * std::int64_t{sizeof(T)}) % 4096 != 0) {
    // Panel by panel: the panels are written in order, and the source rows
    // they read spread over L1's sets. Row by row, each source row writes
    // one line in every panel, kb lines apart: a multiple of 64 lines
    // (kb = 64, 128, 256) puts them all in one L1 set (64 x 784 packed in
    // 9.5 us that way, 6 us this way, from L3).
    for (std::int64_t j0 = 0; j0 < full; j0 += nr) {
      const T* src = b + j0;
      T* o = out + j0 * kb;
      for (std::int64_t p = 0; p < kb; ++p) {
        B::load_unaligned(src + p * ldb).store_aligned(o + p * nr);
        B::load_unaligned(src + p * ldb + L).store_aligned(o + p * nr + L);
      }
    }
  } else if (!trans) {
    // Rows 4 KB apart would share one L1 set read panel by panel: read them
    // in order instead, row by row across all panels.
    for (std::int64_t p = 0; p < kb; ++p) {
      const T* src = b + p * ldb;
      T* o = out + p * nr;
      for (std::int64_t j0 = 0; j0 < full; j0 += nr, o += nr * kb) {
        B::load_unaligned(src + j0).store_aligned(o);
        B::load_unaligned(src + j0 + L).store_aligned(o + L);
      }
    }
  } else {
    // Stored rows of B are columns of the panel: square blocks transposed
    // in registers where the target has AVX, the rest element by element.
    constexpr std::int64_t t = transpose_width<T>;
    const std::int64_t kt = t > 1 ? kb / t * t : 0;
    for (std::int64_t j0 = 0; j0 < full; j0 += nr) {
      T* o = out + j0 * kb;
      const T* src = b + j0 * ldb;
      for (std::int64_t p = 0; p < kt; p += t) {
        for (std::int64_t c = 0; c < nr; c += t) transpose_block(src + c * ldb + p, ldb, o + p * nr + c, nr);
      }
      for (std::int64_t c = 0; c < nr; ++c) {
        for (std::int64_t p = kt; p < kb; ++p) o[p * nr + c] = src[c * ldb + p];
      }
    }
  }
  if (full < nb) {
    // The last, partial panel: each source row or column read in order.
    T* o = out + full * kb;
    const std::int64_t cols = nb - full;
    std::fill(o, o + nr * kb, T(0));
    if (!trans) {
      for (std::int64_t p = 0; p < kb; ++p) std::copy(b + p * ldb + full, b + p * ldb + nb, o + p * nr);
    } else {
      for (std::int64_t c = 0; c < cols; ++c) {
        for (std::int64_t p = 0; p < kb; ++p) o[p * nr + c] = b[(full + c) * ldb + p];
      }
    }
  }
}

// C tile = alpha * acc + beta * C (beta = 0: C is not read), mr rows x 2 batches at c.
template <class T, std::int64_t mr = Blocking<T>::mr>
NABLA_ALWAYS_INLINE void store_tile(const Batch<T>* acc, T* c, std::int64_t ldc, T alpha, T beta) {
  using B = Batch<T>;
  constexpr std::int64_t L = Blocking<T>::lanes;
  const B va(alpha);
  if (beta == T(0)) {
    for (std::int64_t r = 0; r < mr; ++r) {
      (va * acc[2 * r]).store_unaligned(c + r * ldc);
      (va * acc[2 * r + 1]).store_unaligned(c + r * ldc + L);
    }
  } else {
    const B vb(beta);
    for (std::int64_t r = 0; r < mr; ++r) {
      T* row = c + r * ldc;
      xsimd::fma(va, acc[2 * r], vb * B::load_unaligned(row)).store_unaligned(row);
      xsimd::fma(va, acc[2 * r + 1], vb * B::load_unaligned(row + L)).store_unaligned(row + L);
    }
  }
}

// The microkernel: an mr x nr block of C held in 12 batches, accumulated over
// kb packed steps, written to the rows x cols corner of the C tile at c.
// A is a packed panel (mr values per step), or with InPlaceA mr full rows
// of a row-major A read where they are (row r at a + r * lda). Rows = 4
// runs only the first 4 rows of a packed panel (8 batches): a last panel of
// at most 4 rows (m = 64 or 256 leaves 4) then costs 4 rows of work, not 6.
template <class T, bool InPlaceA = false, std::int64_t Rows = Blocking<T>::mr>
NABLA_NOINLINE void micro_kernel(std::int64_t kb, const T* a, std::int64_t lda, const T* b, T* c, std::int64_t ldc,
                                 T alpha, T beta, std::int64_t rows, std::int64_t cols) {
  using B = Batch<T>;
  static_assert(Rows == 4 || Rows == Blocking<T>::mr, "micro_kernel runs 4 or mr rows");
  static_assert(!InPlaceA || Rows == Blocking<T>::mr, "in place, A panels are full");
  constexpr std::int64_t mr = Rows;
  constexpr std::int64_t nr = Blocking<T>::nr;
  constexpr std::int64_t L = Blocking<T>::lanes;
  constexpr std::int64_t step = InPlaceA ? 1 : Blocking<T>::mr;  // between the A values of steps p and p + 1
  const std::int64_t rs = InPlaceA ? lda : 1;       // between the A values of rows r and r + 1
  // The C tile is needed only after the k loop: fetch it meanwhile.
  for (std::int64_t r = 0; r < rows; ++r) {
    __builtin_prefetch(c + r * ldc, 1);
    __builtin_prefetch(c + r * ldc + cols - 1, 1);
  }
  // Rows 0-2 and 3-5 at offsets 0, rs, 2 rs from two pointers: in place,
  // that is a scaled index off each pointer, so no row needs its own register.
  const T* lo = a;
  const T* hi = a + 3 * rs;
  B c00(T(0)), c01(T(0)), c10(T(0)), c11(T(0)), c20(T(0)), c21(T(0));
  B c30(T(0)), c31(T(0)), c40(T(0)), c41(T(0)), c50(T(0)), c51(T(0));
  // Four steps per loop trip: 0.5-3% faster on the MLP's products (short
  // k, such as a batch of 64 in a weight gradient); same operations, same bits.
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < kb; ++p, b += nr, lo += step, hi += step) {
    const B b0 = B::load_aligned(b);
    const B b1 = B::load_aligned(b + L);
    B av(lo[0]);
    c00 = xsimd::fma(av, b0, c00);
    c01 = xsimd::fma(av, b1, c01);
    av = B(lo[rs]);
    c10 = xsimd::fma(av, b0, c10);
    c11 = xsimd::fma(av, b1, c11);
    av = B(lo[2 * rs]);
    c20 = xsimd::fma(av, b0, c20);
    c21 = xsimd::fma(av, b1, c21);
    av = B(hi[0]);
    c30 = xsimd::fma(av, b0, c30);
    c31 = xsimd::fma(av, b1, c31);
    if constexpr (Rows > 4) {
      av = B(hi[rs]);
      c40 = xsimd::fma(av, b0, c40);
      c41 = xsimd::fma(av, b1, c41);
      av = B(hi[2 * rs]);
      c50 = xsimd::fma(av, b0, c50);
      c51 = xsimd::fma(av, b1, c51);
    }
  }
  const B acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  if (rows == mr && cols == nr) {
    store_tile<T, mr>(acc, c, ldc, alpha, beta);
    return;
  }
  // Partial tile: the same arithmetic on a copy, then only the valid corner goes back.
  alignas(64) T tmp[mr * nr];
  if (beta != T(0)) {
    for (std::int64_t r = 0; r < rows; ++r) std::copy(c + r * ldc, c + r * ldc + cols, tmp + r * nr);
  }
  store_tile<T, mr>(acc, tmp, nr, alpha, beta);
  for (std::int64_t r = 0; r < rows; ++r) std::copy(tmp + r * nr, tmp + r * nr + cols, c + r * ldc);
}

// A packed panel's micro-kernel: the 4-row one when at most 4 rows are left.
template <class T>
void packed_micro_kernel(std::int64_t kb, const T* apanel, const T* b, T* c, std::int64_t ldc, T alpha, T beta,
                         std::int64_t rows, std::int64_t cols) {
  if (rows <= 4) {
    micro_kernel<T, false, 4>(kb, apanel, 0, b, c, ldc, alpha, beta, rows, cols);
  } else {
    micro_kernel<T, false>(kb, apanel, 0, b, c, ldc, alpha, beta, rows, cols);
  }
}

// The k-blocks: as even as possible, set by k alone.
inline std::int64_t k_block(std::int64_t k, std::int64_t kc) { return ceil_div(k, ceil_div(k, kc)); }

// The micro-kernels over a packed A block (mb rows) and B slab (nb columns):
// each B micro-panel stays in L1 while the A panels stream past it.
template <class T>
void macro_kernel(std::int64_t mb, std::int64_t nb, std::int64_t kb, const T* apack, const T* bpack, T* c,
                  std::int64_t ldc, T alpha, T beta) {
  using Bl = Blocking<T>;
  for (std::int64_t jr = 0; jr < nb; jr += Bl::nr) {
    const std::int64_t cols = std::min(Bl::nr, nb - jr);
    for (std::int64_t ir = 0; ir < mb; ir += Bl::mr) {
      packed_micro_kernel(kb, apack + ir * kb, bpack + jr * kb, c + ir * ldc + jr, ldc, alpha, beta,
                          std::min(Bl::mr, mb - ir), cols);
    }
  }
}

// The same over A[0:mb, 0:kb] read in place (row-major, not transposed, at
// a with leading dimension lda); only the last partial panel of rows is
// packed, into tail (mr * kb values). The B slab has few panels here, so
// each A panel stays in L1 for all of them and A streams in once.
template <class T>
void macro_kernel_in_place(std::int64_t mb, std::int64_t nb, std::int64_t kb, const T* a, std::int64_t lda, T* tail,
                           const T* bpack, T* c, std::int64_t ldc, T alpha, T beta) {
  using Bl = Blocking<T>;
  const std::int64_t full = mb / Bl::mr * Bl::mr;
  for (std::int64_t ir = 0; ir < full; ir += Bl::mr) {
    for (std::int64_t jr = 0; jr < nb; jr += Bl::nr) {
      micro_kernel<T, true>(kb, a + ir * lda, lda, bpack + jr * kb, c + ir * ldc + jr, ldc, alpha, beta, Bl::mr,
                            std::min(Bl::nr, nb - jr));
    }
  }
  if (full < mb) {
    pack_a(false, a + full * lda, lda, mb - full, kb, tail);
    for (std::int64_t jr = 0; jr < nb; jr += Bl::nr) {
      packed_micro_kernel(kb, tail, bpack + jr * kb, c + full * ldc + jr, ldc, alpha, beta, mb - full,
                          std::min(Bl::nr, nb - jr));
    }
  }
}

// The row block of a tile of mt rows: at most mc, as even as possible.
template <class T>
std::int64_t row_block(std::int64_t mt) {
  using Bl = Blocking<T>;
  return round_up(ceil_div(mt, ceil_div(mt, Bl::mc)), Bl::mr);
}

// One thread: GotoBLAS loops, packing each B slab and A block just before
// use; pack_b_block(pc, kb, jc, nb, out) packs op(B)[pc:pc+kb, jc:jc+nb].
// Reading A in place or packing it moves no value, so both give the same bits.
template <class T, class PackB>
void packed_serial_with(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                        std::int64_t lda, PackB&& pack_b_block, T beta, T* c, std::int64_t ldc) {
  using Bl = Blocking<T>;
  const std::int64_t kc = k_block(k, Bl::kc);
  const std::int64_t mc = row_block<T>(m);
  const bool a_in_place = !trans_a && n <= in_place_a_cols<T>;
  T* bpack = workspace<T>(0, kc * round_up(std::min(n, Bl::nc), Bl::nr));
  T* apack = workspace<T>(1, kc * (a_in_place ? Bl::mr : mc));
  for (std::int64_t jc = 0; jc < n; jc += Bl::nc) {
    const std::int64_t nb = std::min(Bl::nc, n - jc);
    for (std::int64_t pc = 0; pc < k; pc += kc) {
      const std::int64_t kb = std::min(kc, k - pc);
      pack_b_block(pc, kb, jc, nb, bpack);
      for (std::int64_t ic = 0; ic < m; ic += mc) {
        const std::int64_t mb = std::min(mc, m - ic);
        const T beta_block = pc == 0 ? beta : T(1);
        if (a_in_place) {
          macro_kernel_in_place(mb, nb, kb, a + ic * lda + pc, lda, apack, bpack, c + ic * ldc + jc, ldc, alpha,
                                beta_block);
        } else {
          pack_a(trans_a, trans_a ? a + pc * lda + ic : a + ic * lda + pc, lda, mb, kb, apack);
          macro_kernel(mb, nb, kb, apack, bpack, c + ic * ldc + jc, ldc, alpha, beta_block);
        }
      }
    }
  }
}

template <class T>
void packed_serial(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                   std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  packed_serial_with(
      trans_a, m, n, k, alpha, a, lda,
      [&](std::int64_t pc, std::int64_t kb, std::int64_t jc, std::int64_t nb, T* out) {
        pack_b(trans_b, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, kb, nb, out);
      },
      beta, c, ldc);
}

// The tile grid of C for threads, from the shape alone: halve the longer
// side until there are max_tiles tiles or a tile would drop below
// min_tile_work multiply-adds.
struct Grid {
  std::int64_t rows;  // rows per tile, a multiple of mr
  std::int64_t cols;  // columns per tile, a multiple of nr
  std::int64_t tiles_m;
  std::int64_t tiles_n;
};

template <class T>
Grid tile_grid(std::int64_t m, std::int64_t n, std::int64_t k) {
  using Bl = Blocking<T>;
  std::int64_t tm = 1;
  std::int64_t tn = 1;
  while (tm * tn < max_tiles) {
    const std::int64_t rows = ceil_div(m, tm);
    const std::int64_t cols = ceil_div(n, tn);
    if (rows * cols * k < 2 * min_tile_work) break;
    if (rows >= 2 * Bl::mr && (rows >= cols || cols < 2 * Bl::nr)) {
      tm *= 2;
    } else if (cols >= 2 * Bl::nr) {
      tn *= 2;
    } else {
      break;
    }
  }
  Grid g{round_up(ceil_div(m, tm), Bl::mr), round_up(ceil_div(n, tn), Bl::nr), 0, 0};
  g.tiles_m = ceil_div(m, g.rows);
  g.tiles_n = ceil_div(n, g.cols);
  return g;
}

// Whether a parallel_for here would run on more than one thread.
inline bool can_thread() {
#if NABLA_HAS_OPENMP
  return get_num_threads() > 1 && !omp_in_parallel();
#else
  return false;
#endif
}

// Several threads: all of op(A) and op(B) (a group of k-blocks at a time)
// is packed once into shared buffers by all threads, then the tiles of the
// grid run the micro-kernels on it, so no panel is packed twice.
template <class T>
void packed_parallel(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                     const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  using Bl = Blocking<T>;
  const std::int64_t kc = k_block(k, Bl::kc);
  const std::int64_t m_pad = round_up(m, Bl::mr);
  const std::int64_t n_pad = round_up(n, Bl::nr);
  // k-blocks per group: the packed copies stay under shared_pack elements.
  const std::int64_t group = std::max<std::int64_t>(1, shared_pack / ((m_pad + n_pad) * kc)) * kc;
  T* apack = workspace<T>(2, m_pad * std::min(group, k));
  T* bpack = workspace<T>(3, n_pad * std::min(group, k));
  const Grid g = tile_grid<T>(m, n, k);
  const std::int64_t mc = row_block<T>(g.rows);
  const std::int64_t a_jobs = ceil_div(m, mc);
  const std::int64_t b_jobs = ceil_div(n, pack_cols);
  const std::int64_t tiles = g.tiles_m * g.tiles_n;
  // One region: a barrier between packing and computing, and between groups.
  // Which thread takes a job never changes a value.
#if NABLA_HAS_OPENMP
#pragma omp parallel
#endif
  for (std::int64_t g0 = 0; g0 < k; g0 += group) {
    const std::int64_t blocks = ceil_div(std::min(group, k - g0), kc);
    // k-block q of the group: op(A) panels at apack + q*kc*m_pad, op(B)'s at bpack + q*kc*n_pad.
#if NABLA_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::int64_t job = 0; job < blocks * (a_jobs + b_jobs); ++job) {
      const std::int64_t q = job / (a_jobs + b_jobs);
      const std::int64_t r = job % (a_jobs + b_jobs);
      const std::int64_t pc = g0 + q * kc;
      const std::int64_t kb = std::min(kc, k - pc);
      if (r < a_jobs) {
        const std::int64_t i0 = r * mc;
        pack_a(trans_a, trans_a ? a + pc * lda + i0 : a + i0 * lda + pc, lda, std::min(mc, m - i0), kb,
               apack + q * kc * m_pad + i0 * kb);
      } else {
        const std::int64_t j0 = (r - a_jobs) * pack_cols;
        pack_b(trans_b, trans_b ? b + j0 * ldb + pc : b + pc * ldb + j0, ldb, kb, std::min(pack_cols, n - j0),
               bpack + q * kc * n_pad + j0 * kb);
      }
    }
#if NABLA_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::int64_t t = 0; t < tiles; ++t) {
      const std::int64_t i0 = (t % g.tiles_m) * g.rows;
      const std::int64_t j0 = (t / g.tiles_m) * g.cols;
      const std::int64_t i1 = std::min(m, i0 + g.rows);
      const std::int64_t nb = std::min(n, j0 + g.cols) - j0;
      for (std::int64_t q = 0; q < blocks; ++q) {
        const std::int64_t pc = g0 + q * kc;
        const std::int64_t kb = std::min(kc, k - pc);
        for (std::int64_t ic = i0; ic < i1; ic += mc) {
          macro_kernel(std::min(mc, i1 - ic), nb, kb, apack + q * kc * m_pad + ic * kb, bpack + q * kc * n_pad + j0 * kb,
                       c + ic * ldc + j0, ldc, alpha, pc == 0 ? beta : T(1));
        }
      }
    }
  }
}

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols.
template <class T>
void transpose_copy(const T* src, std::int64_t lds, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t ldd) {
  constexpr std::int64_t t = transpose_width<T>;
  const std::int64_t rt = t > 1 ? rows / t * t : 0;
  const std::int64_t ct = t > 1 ? cols / t * t : 0;
  for (std::int64_t i = 0; i < rt; i += t) {
    for (std::int64_t j = 0; j < ct; j += t) transpose_block(src + i * lds + j, lds, dst + j * ldd + i, ldd);
    for (std::int64_t r = i; r < i + t; ++r) {
      for (std::int64_t j = ct; j < cols; ++j) dst[j * ldd + r] = src[r * lds + j];
    }
  }
  for (std::int64_t r = rt; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) dst[j * ldd + r] = src[r * lds + j];
  }
}

// Whether a serial product runs swapped (see swap_rows_max): B transposed,
// few rows of C and more columns than rows. (Fewer columns than a B panel
// holds go to the direct dot products, as before the swap existed.)
template <class T>
bool swap_pays(bool trans_b, std::int64_t m, std::int64_t n) {
  return trans_b && m <= swap_rows_max<T> && m < n && n >= Blocking<T>::nr;
}

// C = alpha op(A) op(B) + beta C computed as C^T = alpha B op(A)^T + beta C^T
// in scratch: B [n, k] is the swapped product's A, read in place; op(A)^T
// its B. Every element sees the same products in the same order and the
// same write-backs as unswapped, so the bits do not change.
// Columns of C per pass, so the scratch stays small (m <= swap_rows_max).
inline constexpr std::int64_t swap_cols = 2048;

// With row_bias (gemm_bias), C^T starts as its rows, each one value repeated:
// filled directly rather than broadcast into C and transposed in.
template <class T>
void swapped_serial(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                    std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                    const T* row_bias) {
  T* ct = workspace<T>(4, std::min(n, swap_cols) * m);
  for (std::int64_t j0 = 0; j0 < n; j0 += swap_cols) {
    const std::int64_t nb = std::min(swap_cols, n - j0);
    if (row_bias) {
      for (std::int64_t j = 0; j < nb; ++j) std::fill(ct + j * m, ct + (j + 1) * m, row_bias[j0 + j]);
    } else if (beta != T(0)) {
      transpose_copy(c + j0, ldc, m, nb, ct, m);
    }
    packed_serial(false, !trans_a, nb, m, k, alpha, b + j0 * ldb, ldb, a, lda, row_bias ? T(1) : beta, ct, m);
    transpose_copy(ct, m, nb, m, c + j0, ldc);
  }
}

// C's rows set to row_bias (n values), for beta = 1 after it.
template <class T>
void fill_rows(const T* row_bias, std::int64_t m, std::int64_t n, T* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i) std::copy(row_bias, row_bias + n, c + i * ldc);
}

template <class T>
void packed(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc, const T* row_bias) {
  const bool serial = m * n * k < parallel_work || !can_thread();
  if (serial && swap_pays<T>(trans_b, m, n)) {
    swapped_serial(trans_a, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias);
    return;
  }
  if (row_bias) {
    fill_rows(row_bias, m, n, c, ldc);
    beta = T(1);
  }
  if (serial) {
    packed_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    packed_parallel(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

// C = alpha * acc + beta * C for one element (beta = 0: C is not read).
template <class T>
void store_one(T acc, T* c, T alpha, T beta) {
  *c = beta == T(0) ? alpha * acc : alpha * acc + beta * *c;
}

// Small products without packing. B not transposed: rows of C built as
// sums of B rows, SIMD over n (any op(A)).
template <class T>
void direct_rows(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
                 const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  using B = Batch<T>;
  constexpr std::int64_t L = lanes<T>;
  const std::int64_t sa_i = trans_a ? 1 : lda;
  const std::int64_t sa_p = trans_a ? lda : 1;
  const B va(alpha), vb(beta);
  for (std::int64_t i = 0; i < m; ++i) {
    const T* ai = a + i * sa_i;
    T* ci = c + i * ldc;
    std::int64_t j = 0;
    for (; j + 4 * L <= n; j += 4 * L) {
      B s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
      for (std::int64_t p = 0; p < k; ++p) {
        const B av(ai[p * sa_p]);
        const T* bp = b + p * ldb + j;
        s0 = xsimd::fma(av, B::load_unaligned(bp), s0);
        s1 = xsimd::fma(av, B::load_unaligned(bp + L), s1);
        s2 = xsimd::fma(av, B::load_unaligned(bp + 2 * L), s2);
        s3 = xsimd::fma(av, B::load_unaligned(bp + 3 * L), s3);
      }
      const B acc[4] = {s0, s1, s2, s3};
      for (std::int64_t h = 0; h < 4; ++h) {
        T* dst = ci + j + h * L;
        (beta == T(0) ? va * acc[h] : xsimd::fma(va, acc[h], vb * B::load_unaligned(dst))).store_unaligned(dst);
      }
    }
    for (; j + L <= n; j += L) {
      B s(T(0));
      for (std::int64_t p = 0; p < k; ++p) s = xsimd::fma(B(ai[p * sa_p]), B::load_unaligned(b + p * ldb + j), s);
      T* dst = ci + j;
      (beta == T(0) ? va * s : xsimd::fma(va, s, vb * B::load_unaligned(dst))).store_unaligned(dst);
    }
    for (; j < n; ++j) {
      T s = T(0);
      for (std::int64_t p = 0; p < k; ++p) s += ai[p * sa_p] * b[p * ldb + j];
      store_one(s, ci + j, alpha, beta);
    }
  }
}

// Small products with A not transposed and B transposed: dot products of
// rows of A and rows of B, SIMD over k, four rows of B at a time.
template <class T>
void direct_dots(std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda, const T* b,
                 std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  using B = Batch<T>;
  constexpr std::int64_t L = lanes<T>;
  for (std::int64_t i = 0; i < m; ++i) {
    const T* ai = a + i * lda;
    std::int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const T* b0 = b + j * ldb;
      const T* b1 = b0 + ldb;
      const T* b2 = b1 + ldb;
      const T* b3 = b2 + ldb;
      B s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
      std::int64_t p = 0;
      for (; p + L <= k; p += L) {
        const B av = B::load_unaligned(ai + p);
        s0 = xsimd::fma(av, B::load_unaligned(b0 + p), s0);
        s1 = xsimd::fma(av, B::load_unaligned(b1 + p), s1);
        s2 = xsimd::fma(av, B::load_unaligned(b2 + p), s2);
        s3 = xsimd::fma(av, B::load_unaligned(b3 + p), s3);
      }
      T t0 = xsimd::hadd(s0), t1 = xsimd::hadd(s1), t2 = xsimd::hadd(s2), t3 = xsimd::hadd(s3);
      for (; p < k; ++p) {
        t0 += ai[p] * b0[p];
        t1 += ai[p] * b1[p];
        t2 += ai[p] * b2[p];
        t3 += ai[p] * b3[p];
      }
      store_one(t0, c + i * ldc + j, alpha, beta);
      store_one(t1, c + i * ldc + j + 1, alpha, beta);
      store_one(t2, c + i * ldc + j + 2, alpha, beta);
      store_one(t3, c + i * ldc + j + 3, alpha, beta);
    }
    for (; j < n; ++j) {
      const T* bj = b + j * ldb;
      B s(T(0));
      std::int64_t p = 0;
      for (; p + L <= k; p += L) s = xsimd::fma(B::load_unaligned(ai + p), B::load_unaligned(bj + p), s);
      T t = xsimd::hadd(s);
      for (; p < k; ++p) t += ai[p] * bj[p];
      store_one(t, c + i * ldc + j, alpha, beta);
    }
  }
}

// Any type, any layout: the reference triple loop (types without SIMD).
template <class T>
void plain(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
           std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const std::int64_t sa_i = trans_a ? 1 : lda, sa_p = trans_a ? lda : 1;
  const std::int64_t sb_p = trans_b ? 1 : ldb, sb_j = trans_b ? ldb : 1;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      T s = T(0);
      for (std::int64_t p = 0; p < k; ++p) s += a[i * sa_i + p * sa_p] * b[p * sb_p + j * sb_j];
      store_one(s, c + i * ldc + j, alpha, beta);
    }
  }
}

// Whether a product runs packed rather than on the direct loops (too small
// to pack, or too few rows or columns to fill a register block). The choice
// depends on the shape alone.
template <class T>
bool use_packed(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k) {
  const bool tiny = m * n * k < direct_work;
  if (!trans_b) return !(tiny || m <= direct_rows_max);
  if (!trans_a) return !(tiny || m <= direct_dots_max || n < Blocking<T>::nr);
  return true;
}

// gemm, and gemm_bias when row_bias is set (C's rows start as it, beta 1).
template <class T>
void dispatch(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
              std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc, const T* row_bias) {
  if (m <= 0 || n <= 0) return;
  const bool packs = simd_enabled<T> && k > 0 && alpha != T(0) && use_packed<T>(trans_a, trans_b, m, n, k);
  if (row_bias && !packs) {
    fill_rows(row_bias, m, n, c, ldc);
    beta = T(1);
  }
  if (k <= 0 || alpha == T(0)) {
    for (std::int64_t i = 0; i < m; ++i) {
      T* row = c + i * ldc;
      if (beta == T(0)) {
        std::fill(row, row + n, T(0));
      } else if (beta != T(1)) {
        for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
      }
    }
    return;
  }
  if constexpr (!simd_enabled<T>) {
    plain(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    if (packs) {
      packed(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, row_bias);
    } else if (!trans_b) {
      direct_rows(trans_a, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else {
      direct_dots(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
  }
}

}  // namespace gemm_detail

// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major with
// leading dimensions lda/ldb/ldc (elements between rows as stored). With
// trans_a, A is stored [k, m]; with trans_b, B is stored [n, k]. beta = 0
// never reads C. Large products are cut into a tile grid set by the shape
// and run over get_num_threads() threads (serially inside a parallel
// region); results are bit-identical for any thread count.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  gemm_detail::dispatch(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, static_cast<const T*>(nullptr));
}

// C[m, n] = op(A) op(B) + bias in every row (bias[n]): a linear layer's
// product. The same bits as filling each row of C with bias and calling
// gemm with alpha = beta = 1, without that pass where the product runs
// transposed (a batch of at most 64 rows times a weight).
template <class T>
void gemm_bias(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const T* a,
               std::int64_t lda, const T* b, std::int64_t ldb, const T* bias, T* c, std::int64_t ldc) {
  gemm_detail::dispatch(trans_a, trans_b, m, n, k, T(1), a, lda, b, ldb, T(1), c, ldc, bias);
}

// The packed layout of op(B) that gemm_generated_b asks for: panels of
// gemm_panel_width<T> columns, each stored p-major (that many values per p),
// columns past the last one zero.
template <class T>
inline constexpr std::int64_t gemm_panel_width = gemm_detail::Blocking<T>::nr;

// C = alpha op(A) B + beta C (beta = 0: C is not read) on the calling
// thread, for a B that is never stored whole: pack_b_panels(pc, kb, jc, nb,
// out) writes B[pc:pc+kb, jc:jc+nb] in the packed layout (a convolution packs
// its im2col columns straight from the image). k is cut into blocks by k
// alone, as in gemm.
template <class T, class PackB>
void gemm_generated_b(bool trans_a, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                      std::int64_t lda, PackB&& pack_b_panels, T beta, T* c, std::int64_t ldc) {
  static_assert(simd_enabled<T>, "gemm_generated_b runs the packed SIMD kernel");
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    gemm(trans_a, false, m, n, k, alpha, a, lda, static_cast<const T*>(nullptr), n, beta, c, ldc);
    return;
  }
  gemm_detail::packed_serial_with(trans_a, m, n, k, alpha, a, lda, pack_b_panels, beta, c, ldc);
}

// The threads nabla's gemm may use: get_num_threads() (serial inside a
// parallel region and for products below a few MFLOP).
inline int gemm_threads() { return get_num_threads(); }

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

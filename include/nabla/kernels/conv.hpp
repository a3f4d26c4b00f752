// Convolution (im2col GEMM, NCHW; columns packed straight from the image) and
// 2-D pooling kernels, forward and backward.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "nabla/core/tensor.hpp"
#include "nabla/kernels/gemm.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/detail/diagnostics.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

NABLA_SIMD_WARNINGS_BEGIN

namespace nabla::kernels {

// Sizes of one conv2d call: input [n, c, h, w], weight [k, c / groups, kh, kw],
// output [n, k, ho, wo].
struct Conv2dGeometry {
  std::int64_t n = 0, c = 0, h = 0, w = 0;
  std::int64_t k = 0, kh = 0, kw = 0;
  std::int64_t ho = 0, wo = 0;
  std::int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;

  std::int64_t group_channels() const { return c / groups; }
  std::int64_t group_filters() const { return k / groups; }
  std::int64_t col_rows() const { return group_channels() * kh * kw; }
  std::int64_t out_plane() const { return ho * wo; }
  // A 1x1, stride-1, unpadded convolution reads the input as its own im2col.
  bool pointwise() const { return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0; }
};

namespace conv_detail {

// Output positions o in [0, out) whose input index o * stride + offset lies in
// [0, extent): returns [lo, hi).
inline void valid_range(std::int64_t offset, std::int64_t stride, std::int64_t extent, std::int64_t out,
                        std::int64_t& lo, std::int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = extent - 1 - offset < 0 ? 0 : (extent - 1 - offset) / stride + 1;
  lo = std::min(lo, out);
  hi = std::max(std::min(hi, out), lo);
}

// im2col layout: col[(ci * kh + i) * kw + j, oh * wo + ow] =
// x[ci, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside the input).

// dst[0:n] = src[0:n]. Rows of at least one batch are copied by batches,
// the last one overlapping the previous (same values, no scalar tail). Up to
// four batches (the usual conv row) without a loop: GCC turns a plain copy
// loop into a call to memcpy per row, which costs more than the copy.
template <class T>
void copy_row(const T* src, T* dst, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t L = static_cast<std::int64_t>(B::size);
  if (n < L) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  const B last = B::load_unaligned(src + n - L);
  if (n > 4 * L) {
    for (std::int64_t i = 0; i + L < n; i += L) B::load_unaligned(src + i).store_unaligned(dst + i);
  } else {
    B::load_unaligned(src).store_unaligned(dst);
    if (n > 2 * L) B::load_unaligned(src + L).store_unaligned(dst + L);
    if (n > 3 * L) B::load_unaligned(src + 2 * L).store_unaligned(dst + 2 * L);
  }
  last.store_unaligned(dst + n - L);
}

// dst[0:n] += src[0:n]. Rows of at least one batch end with two batches
// that overlap: both are loaded first, the last one (its overlapping lanes
// adding zero) is stored before the other, so there is no scalar tail (half
// the work of a 14-value row).
template <class T>
void add_row(const T* src, T* dst, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t L = static_cast<std::int64_t>(B::size);
  if (n < L) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
    return;
  }
  std::int64_t i = 0;
  for (; i + 2 * L <= n; i += L) (B::load_unaligned(dst + i) + B::load_unaligned(src + i)).store_unaligned(dst + i);
  const B head = B::load_unaligned(dst + i) + B::load_unaligned(src + i);
  if (i + L < n) {
    alignas(64) static constexpr T lane_index[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static_assert(L <= 16, "lane_index covers 16 lanes");
    const T overlap = static_cast<T>(i + 2 * L - n);
    const B tail_src = xsimd::select(B::load_aligned(lane_index) >= B(overlap), B::load_unaligned(src + n - L), B(T(0)));
    (B::load_unaligned(dst + n - L) + tail_src).store_unaligned(dst + n - L);
  }
  head.store_unaligned(dst + i);
}

// Input planes with their zero border: [channels, hp, wp], hp = h + 2 pad_h,
// wp = w + 2 pad_w. With the border in memory, every im2col row is a plain
// strided copy: no bounds per output row, which cost as much as the copies.
// Without padding these are the input planes themselves.
struct PaddedPlane {
  std::int64_t hp = 0, wp = 0;
  explicit PaddedPlane(const Conv2dGeometry& g) : hp(g.h + 2 * g.pad_h), wp(g.w + 2 * g.pad_w) {}
  std::int64_t size() const { return hp * wp; }
};

// Writes the interior of padded planes from x (the border is left as is:
// the caller zeroes it once).
template <class T>
void fill_padded(const Conv2dGeometry& g, const PaddedPlane& pp, const T* x, std::int64_t channels, T* xp) {
  for (std::int64_t ci = 0; ci < channels; ++ci) {
    const T* src = x + ci * g.h * g.w;
    T* dst = xp + ci * pp.size() + g.pad_h * pp.wp + g.pad_w;
    for (std::int64_t r = 0; r < g.h; ++r) copy_row(src + r * g.w, dst + r * pp.wp, g.w);
  }
}

// The adjoint of im2col: padded planes dxp += rows [r0, r1) of col (row
// r = (ci * kh + i) * kw + j, row r at col + (r - r0) * plane). Sizes are in
// locals: the SIMD stores may alias anything, so fields read through g would
// be reloaded for every row.
template <class T>
void col2im_rows(const Conv2dGeometry& g, const PaddedPlane& pp, const T* col, std::int64_t r0, std::int64_t r1, T* dxp) {
  const std::int64_t kh = g.kh, kw = g.kw, ho = g.ho, wo = g.wo, sw = g.stride_w;
  const std::int64_t row_step = g.stride_h * pp.wp, i_step = g.dil_h * pp.wp, j_step = g.dil_w, channel = pp.size();
  const T* src = col;
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::int64_t j = r % kw;
    const std::int64_t i = r / kw % kh;
    const std::int64_t ci = r / (kw * kh);
    T* dst = dxp + ci * channel + i * i_step + j * j_step;
    if (sw == 1) {
      for (std::int64_t oh = 0; oh < ho; ++oh, src += wo, dst += row_step) add_row(src, dst, wo);
    } else {
      for (std::int64_t oh = 0; oh < ho; ++oh, src += wo, dst += row_step) {
        for (std::int64_t ow = 0; ow < wo; ++ow) dst[ow * sw] += src[ow];
      }
    }
  }
}

// Reads im2col rows from padded planes: gather(r, oh, ow, count, dst) writes
// count output positions of row r = (ci * kh + i) * kw + j, from position
// (oh, ow) on (the caller divides once, not once per row).
// The sizes are copied in: the SIMD stores may alias anything, so fields read
// through g would be reloaded for every row.
template <class T>
struct Im2colReader {
  const T* planes;
  std::int64_t kh, kw, wo, sw, row_step, i_step, j_step, channel;
  Im2colReader(const Conv2dGeometry& g, const PaddedPlane& pp, const T* xp)
      : planes(xp), kh(g.kh), kw(g.kw), wo(g.wo), sw(g.stride_w), row_step(g.stride_h * pp.wp),
        i_step(g.dil_h * pp.wp), j_step(g.dil_w), channel(pp.size()) {}

  void gather(std::int64_t r, std::int64_t oh, std::int64_t ow, std::int64_t count, T* dst) const {
    const std::int64_t j = r % kw;
    const std::int64_t i = r / kw % kh;
    const std::int64_t ci = r / (kw * kh);
    const T* src = planes + ci * channel + i * i_step + j * j_step;
    // Output rows in turn, the first from column ow.
    std::int64_t done = 0;
    for (; done < count; ++oh, ow = 0) {
      const std::int64_t seg = std::min(wo - ow, count - done);
      const T* s = src + oh * row_step + ow * sw;
      if (sw == 1) {
        copy_row(s, dst + done, seg);
      } else {
        for (std::int64_t e = 0; e < seg; ++e) dst[done + e] = s[e * sw];
      }
      done += seg;
    }
  }
};

// Columns [jc, jc + nb) of im2col rows [pc, pc + kb), written in the GEMM's
// packed layout (gemm_generated_b): the forward's B without an im2col
// buffer. Each row is gathered into a small buffer in L1, then cut into panels.
template <class T>
void pack_im2col_panels(const Conv2dGeometry& g, const PaddedPlane& pp, const T* xp, std::int64_t pc, std::int64_t kb,
                        std::int64_t jc, std::int64_t nb, T* out) {
  using B = Batch<T>;
  constexpr std::int64_t L = static_cast<std::int64_t>(B::size);
  constexpr std::int64_t nr = gemm_panel_width<T>;
  static_assert(nr == 2 * L, "a panel is two batches wide");
  alignas(64) T row[gemm_detail::Blocking<T>::nc];
  const Im2colReader<T> reader(g, pp, xp);
  const std::int64_t full = nb / nr * nr;
  const std::int64_t oh_first = jc / g.wo, ow_first = jc % g.wo;
  for (std::int64_t p = 0; p < kb; ++p) {
    reader.gather(pc + p, oh_first, ow_first, nb, row);
    T* o = out + p * nr;
    for (std::int64_t j0 = 0; j0 < full; j0 += nr, o += nr * kb) {
      B::load_aligned(row + j0).store_aligned(o);
      B::load_aligned(row + j0 + L).store_aligned(o + L);
    }
    if (full < nb) {
      for (std::int64_t q = 0; q < nr; ++q) o[q] = full + q < nb ? row[full + q] : T(0);
    }
  }
}

// The transposed columns for the weight gradient: op(B) = col^T, rows =
// output positions [pc, pc + kb), columns = im2col rows [jc, jc + nb), in
// the GEMM's packed layout. Each panel's im2col rows are gathered into a
// buffer in L1 and transposed into the panel.
template <class T>
void pack_im2col_panels_transposed(const Conv2dGeometry& g, const PaddedPlane& pp, const T* xp, std::int64_t pc,
                                   std::int64_t kb, std::int64_t jc, std::int64_t nb, T* out) {
  constexpr std::int64_t nr = gemm_panel_width<T>;
  constexpr std::int64_t t = gemm_detail::transpose_width<T>;
  alignas(64) T rows[nr * gemm_detail::Blocking<T>::kc];
  const Im2colReader<T> reader(g, pp, xp);
  const std::int64_t kt = t > 1 ? kb / t * t : 0;
  const std::int64_t oh_first = pc / g.wo, ow_first = pc % g.wo;
  for (std::int64_t j0 = 0; j0 < nb; j0 += nr) {
    const std::int64_t cols = std::min(nr, nb - j0);
    for (std::int64_t q = 0; q < nr; ++q) {
      if (q < cols) {
        reader.gather(jc + j0 + q, oh_first, ow_first, kb, rows + q * kb);
      } else {
        std::fill(rows + q * kb, rows + (q + 1) * kb, T(0));
      }
    }
    T* o = out + j0 * kb;
    for (std::int64_t p = 0; p < kt; p += t) {
      for (std::int64_t c = 0; c < nr; c += t) gemm_detail::transpose_block(rows + c * kb + p, kb, o + p * nr + c, nr);
    }
    for (std::int64_t c = 0; c < nr; ++c) {
      for (std::int64_t p = kt; p < kb; ++p) o[p * nr + c] = rows[c * kb + p];
    }
  }
}

template <class T>
T contiguous_sum(const T* a, std::int64_t n) {
  using B = Batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + w <= n; i += w) acc += B::load_unaligned(a + i);
  T total = xsimd::hadd(acc);
  for (; i < n; ++i) total += a[i];
  return total;
}

// Splits [0, count) into `parts` near-equal pieces; piece p is [first(p), first(p + 1)).
inline std::int64_t split_point(std::int64_t count, std::int64_t parts, std::int64_t p) { return count * p / parts; }

// Rows of the input gradient's columns (W^T dy) per block: a block (rows x
// out_plane) stays in L2 between the GEMM that writes it and col2im.
template <class T>
std::int64_t lowering_rows(const Conv2dGeometry& g) {
  return gemm_detail::k_block(g.col_rows(), gemm_detail::Blocking<T>::kc);
}

// Workspace of one task: (backward) one block of im2col rows, then padded
// planes of one group (none without padding: x is read in place), then
// (backward) the padded planes of dx. The forward packs its columns straight
// into the GEMM's panels.
template <class T>
struct ConvWorkspace {
  std::int64_t col_size = 0, padded_size = 0;
  ConvWorkspace(const Conv2dGeometry& g, bool backward)
      : col_size(g.pointwise() || !backward ? 0 : lowering_rows<T>(g) * g.out_plane()),
        padded_size(g.pointwise() || (g.pad_h == 0 && g.pad_w == 0) ? 0 : g.group_channels() * PaddedPlane(g).size()),
        backward_(backward) {}
  std::int64_t size() const { return col_size + (backward_ ? 2 : 1) * padded_size; }

 private:
  bool backward_;
};

// The planes im2col reads for one image's group (x_ng: its first channel):
// x itself without padding, else a padded copy whose border was zeroed once.
template <class T>
const T* padded_input(const Conv2dGeometry& g, const ConvWorkspace<T>& cw, const T* x_ng, T* padded) {
  if (cw.padded_size == 0) return x_ng;
  fill_padded(g, PaddedPlane(g), x_ng, g.group_channels(), padded);
  return padded;
}

}  // namespace conv_detail

namespace conv_detail {

// Starts image n's group gi output: its bias in every element, or nothing.
// Returns the beta the GEMM then accumulates with (1 after a bias, else 0).
template <class T>
T start_group_output(const Conv2dGeometry& g, const T* bias, std::int64_t gi, T* y_ng) {
  if (!bias) return T(0);
  const std::int64_t kg = g.group_filters(), plane = g.out_plane();
  for (std::int64_t r = 0; r < kg; ++r) std::fill(y_ng + r * plane, y_ng + (r + 1) * plane, bias[gi * kg + r]);
  return T(1);
}

// Fewer images than threads (inference at batch 1): each image's groups, or
// each group's output, are split into pieces the threads share. Pieces of
// the output are whole micro-tiles (columns in multiples of nr, rows of
// mr), and every output element is the same sum in the same order as in
// the one-thread product, so the result has the same bits for any thread
// count. The piece sizes depend on the shapes only.
template <class T>
void conv2d_forward_split(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  using Bl = gemm_detail::Blocking<T>;
  const std::int64_t plane = g.out_plane();
  const std::int64_t rows = g.col_rows();
  const std::int64_t kg = g.group_filters();
  const PaddedPlane pp(g);
  const ConvWorkspace<T> cw(g, false);
  // Many groups (depthwise): a group per task, each with its own padding buffer.
  const std::int64_t group_tasks = g.groups >= 4 ? std::min<std::int64_t>(g.groups, 64) : 1;
  const Tensor<T> workspace = Tensor<T>::empty(Shape{std::max<std::int64_t>(1, group_tasks * cw.size())});
  T* ws = workspace.data();
  const std::int64_t col_piece = gemm_detail::round_up(std::max<std::int64_t>(256, gemm_detail::ceil_div(plane, 8)), Bl::nr);
  const std::int64_t col_pieces = gemm_detail::ceil_div(plane, col_piece);
  const std::int64_t row_pieces = col_pieces >= 4 ? 1 : std::min(gemm_detail::ceil_div(kg, Bl::mr), gemm_detail::ceil_div(4, col_pieces));
  const std::int64_t row_piece = gemm_detail::round_up(gemm_detail::ceil_div(kg, row_pieces), Bl::mr);
  auto run_group = [&](std::int64_t n, std::int64_t gi, T* padded, bool split) {
    const T* x_ng = x + (n * g.c + gi * g.group_channels()) * g.h * g.w;
    const T* w_g = w + gi * kg * rows;
    T* y_ng = y + (n * g.k + gi * kg) * plane;
    const T beta = start_group_output(g, bias, gi, y_ng);
    const T* xp = padded_input(g, cw, x_ng, padded);
    auto piece = [&](std::int64_t p) {
      const std::int64_t r0 = (p / col_pieces) * row_piece, j0 = (p % col_pieces) * col_piece;
      const std::int64_t mb = std::min(kg, r0 + row_piece) - r0, nb = std::min(plane, j0 + col_piece) - j0;
      if (mb <= 0 || nb <= 0) return;
      gemm_generated_b(
          false, mb, nb, rows, T(1), w_g + r0 * rows, rows,
          [&](std::int64_t pc, std::int64_t kb, std::int64_t jc, std::int64_t cols, T* out) {
            pack_im2col_panels(g, pp, xp, pc, kb, j0 + jc, cols, out);
          },
          beta, y_ng + r0 * plane + j0, plane);
    };
    if (split) {
      parallel_for(0, row_pieces * col_pieces, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t p = lo; p < hi; ++p) piece(p);
      });
    } else {
      for (std::int64_t p = 0; p < row_pieces * col_pieces; ++p) piece(p);
    }
  };
  for (std::int64_t n = 0; n < g.n; ++n) {
    if (group_tasks > 1) {
      parallel_for(0, group_tasks, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t t = lo; t < hi; ++t) {
          T* padded = ws + t * cw.size();
          std::fill(padded, padded + cw.padded_size, T(0));
          for (std::int64_t gi = split_point(g.groups, group_tasks, t); gi < split_point(g.groups, group_tasks, t + 1); ++gi) {
            run_group(n, gi, padded, false);
          }
        }
      });
    } else {
      std::fill(ws, ws + cw.padded_size, T(0));
      for (std::int64_t gi = 0; gi < g.groups; ++gi) run_group(n, gi, ws, true);
    }
  }
}

}  // namespace conv_detail

// y = conv2d(x, w) + bias (bias may be null), NCHW. Images are split into one
// piece per thread; each piece owns its workspace from the pool. With fewer
// images than threads, each image's work is split instead (conv_detail::
// conv2d_forward_split).
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  if (g.n == 0 || g.k == 0 || g.out_plane() == 0) return;
  const std::int64_t plane = g.out_plane();
  const std::int64_t rows = g.col_rows();
  const std::int64_t kg = g.group_filters();
  const conv_detail::PaddedPlane pp(g);
  if (g.n < get_num_threads() && !g.pointwise() && gemm_detail::can_thread()) {
    conv_detail::conv2d_forward_split(g, x, w, bias, y);
    return;
  }
  const std::int64_t tasks = std::min<std::int64_t>(g.n, get_num_threads());
  const conv_detail::ConvWorkspace<T> cw(g, false);
  const Tensor<T> workspace = Tensor<T>::empty(Shape{tasks * cw.size()});
  T* ws = workspace.data();
  parallel_for(0, tasks, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      T* padded = ws + t * cw.size();
      std::fill(padded, padded + cw.padded_size, T(0));
      const std::int64_t first = conv_detail::split_point(g.n, tasks, t);
      const std::int64_t last = conv_detail::split_point(g.n, tasks, t + 1);
      for (std::int64_t n = first; n < last; ++n) {
        for (std::int64_t gi = 0; gi < g.groups; ++gi) {
          const T* x_ng = x + (n * g.c + gi * g.group_channels()) * g.h * g.w;
          const T* w_g = w + gi * kg * rows;
          T* y_ng = y + (n * g.k + gi * kg) * plane;
          const T beta = conv_detail::start_group_output(g, bias, gi, y_ng);
          if (g.pointwise()) {
            gemm(false, false, kg, plane, rows, T(1), w_g, rows, x_ng, plane, beta, y_ng, plane);
            continue;
          }
          const T* xp = conv_detail::padded_input(g, cw, x_ng, padded);
          gemm_generated_b(
              false, kg, plane, rows, T(1), w_g, rows,
              [&](std::int64_t pc, std::int64_t kb, std::int64_t jc, std::int64_t nb, T* out) {
                conv_detail::pack_im2col_panels(g, pp, xp, pc, kb, jc, nb, out);
              },
              beta, y_ng, plane);
        }
      }
    }
  });
}

// Backward of conv2d given dy [n, k, ho, wo]; any of dx, dw, db may be null.
// dx = col2im(W^T dy) per image; dw = sum_n dy_n col_n^T, accumulated over a
// fixed split of the batch (independent of the thread count) and summed in
// order, so results are bit-identical for any number of threads.
template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const std::int64_t plane = g.out_plane();
  const std::int64_t rows = g.col_rows();
  const std::int64_t kg = g.group_filters();
  const std::int64_t weight_size = g.k * rows;
  if (db) {
    parallel_for(0, g.k, 8, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t k = lo; k < hi; ++k) {
        T total = T(0);
        for (std::int64_t n = 0; n < g.n; ++n) total += conv_detail::contiguous_sum(dy + (n * g.k + k) * plane, plane);
        db[k] = total;
      }
    });
  }
  if (!dx && !dw) return;
  if (g.n == 0 || plane == 0 || g.k == 0) {
    if (dx) std::fill(dx, dx + g.n * g.c * g.h * g.w, T(0));
    if (dw) std::fill(dw, dw + weight_size, T(0));
    return;
  }
  const std::int64_t chunks = std::min<std::int64_t>(g.n, 8);
  const std::int64_t tasks = std::min<std::int64_t>(chunks, get_num_threads());
  const std::int64_t block = conv_detail::lowering_rows<T>(g);
  const conv_detail::PaddedPlane pp(g);
  const conv_detail::ConvWorkspace<T> cw(g, true);
  const std::int64_t partial_size = dw ? weight_size : 0;
  // Chunk 0 accumulates straight into dw; chunks 1.. into partial buffers.
  const Tensor<T> workspace = Tensor<T>::empty(Shape{tasks * cw.size() + (chunks - 1) * partial_size});
  T* ws = workspace.data();
  T* partials = ws + tasks * cw.size();
  const std::int64_t group_image = g.group_channels() * g.h * g.w;
  parallel_for(0, tasks, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      T* col = ws + t * cw.size();
      T* padded_x = col + cw.col_size;
      T* padded_dx = padded_x + cw.padded_size;
      std::fill(padded_x, padded_x + cw.padded_size, T(0));
      const std::int64_t chunk_first = conv_detail::split_point(chunks, tasks, t);
      const std::int64_t chunk_last = conv_detail::split_point(chunks, tasks, t + 1);
      for (std::int64_t ch = chunk_first; ch < chunk_last; ++ch) {
        T* dw_part = dw ? (ch == 0 ? dw : partials + (ch - 1) * partial_size) : nullptr;
        const std::int64_t first = conv_detail::split_point(g.n, chunks, ch);
        const std::int64_t last = conv_detail::split_point(g.n, chunks, ch + 1);
        for (std::int64_t n = first; n < last; ++n) {
          for (std::int64_t gi = 0; gi < g.groups; ++gi) {
            const std::int64_t in_offset = (n * g.c + gi * g.group_channels()) * g.h * g.w;
            const T* x_ng = x + in_offset;
            const T* dy_ng = dy + (n * g.k + gi * kg) * plane;
            const T* w_g = w + gi * kg * rows;
            T* dw_g = dw ? dw_part + gi * kg * rows : nullptr;
            const T dw_beta = n == first ? T(0) : T(1);
            T* dx_ng = dx ? dx + in_offset : nullptr;
            if (g.pointwise()) {
              // dW_g (+)= dy_ng [kg, plane] * x_ng^T; dx_ng = W_g^T dy_ng.
              if (dw) gemm(false, true, kg, rows, plane, T(1), dy_ng, plane, x_ng, plane, dw_beta, dw_g, rows);
              if (dx) gemm(true, false, rows, plane, kg, T(1), w_g, rows, dy_ng, plane, T(0), dx_ng, plane);
              continue;
            }
            if (dw) {
              // dW_g (+)= dy_ng [kg, plane] * col^T [plane, rows], col^T packed from the image.
              const T* xp = conv_detail::padded_input(g, cw, x_ng, padded_x);
              gemm_generated_b(
                  false, kg, rows, plane, T(1), dy_ng, plane,
                  [&](std::int64_t pc, std::int64_t kb, std::int64_t jc, std::int64_t nb, T* out) {
                    conv_detail::pack_im2col_panels_transposed(g, pp, xp, pc, kb, jc, nb, out);
                  },
                  dw_beta, dw_g, rows);
            }
            if (!dx) continue;
            // Without padding col2im adds straight into dx.
            T* dxp = cw.padded_size == 0 ? dx_ng : padded_dx;
            std::fill(dxp, dxp + (cw.padded_size == 0 ? group_image : cw.padded_size), T(0));
            for (std::int64_t r0 = 0; r0 < rows; r0 += block) {
              // Rows r0..r1 of dcol = W_g^T dy_ng, scattered back by col2im.
              const std::int64_t r1 = std::min(rows, r0 + block);
              gemm(true, false, r1 - r0, plane, kg, T(1), w_g + r0, rows, dy_ng, plane, T(0), col, plane);
              conv_detail::col2im_rows(g, pp, col, r0, r1, dxp);
            }
            if (cw.padded_size != 0) {
              for (std::int64_t ci = 0; ci < g.group_channels(); ++ci) {
                const T* src = padded_dx + ci * pp.size() + g.pad_h * pp.wp + g.pad_w;
                for (std::int64_t r = 0; r < g.h; ++r) {
                  conv_detail::copy_row(src + r * pp.wp, dx_ng + (ci * g.h + r) * g.w, g.w);
                }
              }
            }
          }
        }
      }
    }
  });
  if (dw) {
    for (std::int64_t ch = 1; ch < chunks; ++ch) {
      const T* part = partials + (ch - 1) * partial_size;
      for (std::int64_t i = 0; i < weight_size; ++i) dw[i] += part[i];
    }
  }
}

// --- Pooling ----------------------------------------------------------------

// Sizes of one pooling call: input [n, c, h, w] -> output [n, c, ho, wo].
struct Pool2dGeometry {
  std::int64_t n = 0, c = 0, h = 0, w = 0;
  std::int64_t kh = 1, kw = 1, ho = 0, wo = 0;
  std::int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

  std::int64_t planes() const { return n * c; }
};

namespace conv_detail {

// One output row of a 2x2, stride-2 max pool: the windows at columns 2 ow of
// rows r0 and r0 + w; indices are first + the window's offset in the plane.
// Each window compares its values in scan order, the later one taken when
// greater or NaN (ties keep the first, NaN propagates; as PyTorch).
template <class T>
void max_pool_2x2_row_scalar(const T* r0, std::int64_t w, std::int64_t ow_begin, std::int64_t wo, T* y,
                             std::int64_t* indices, std::int64_t first) {
  for (std::int64_t ow = ow_begin; ow < wo; ++ow) {
    const std::int64_t at = 2 * ow;
    T best = r0[at];
    std::int64_t best_offset = at;
    for (const std::int64_t i : {at + 1, at + w, at + w + 1}) {
      const T v = r0[i];
      // Selects, not branches: random data mispredicts half of them.
      const bool take = (v > best) | (v != v);
      best = take ? v : best;
      best_offset = take ? i : best_offset;
    }
    y[ow] = best;
    if (indices) indices[ow] = first + best_offset;
  }
}

#if defined(__AVX2__)
// Eight windows at once: even and odd columns are split out of 16 loaded
// values, then the same select chain runs on vectors. A row's last windows
// use masked loads, so nothing past the row is read.
inline void max_pool_2x2_row(const float* r0, std::int64_t w, std::int64_t wo, float* y, std::int64_t* indices,
                             std::int64_t first) {
  if (w > std::numeric_limits<std::int32_t>::max() - 2) {
    max_pool_2x2_row_scalar(r0, w, 0, wo, y, indices, first);
    return;
  }
  const float* r1 = r0 + w;
  const auto evens = [](__m256 lo, __m256 hi) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
  };
  const auto odds = [](__m256 lo, __m256 hi) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
  };
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i off_b = _mm256_set1_epi32(1);
  const __m256i off_c = _mm256_set1_epi32(static_cast<std::int32_t>(w));
  const __m256i off_d = _mm256_set1_epi32(static_cast<std::int32_t>(w + 1));
  for (std::int64_t ow = 0; ow < wo; ow += 8) {
    const std::int64_t count = std::min<std::int64_t>(8, wo - ow);
    const float* p0 = r0 + 2 * ow;
    const float* p1 = r1 + 2 * ow;
    __m256 lo0, hi0, lo1, hi1;
    if (count == 8) {
      lo0 = _mm256_loadu_ps(p0);
      hi0 = _mm256_loadu_ps(p0 + 8);
      lo1 = _mm256_loadu_ps(p1);
      hi1 = _mm256_loadu_ps(p1 + 8);
    } else {
      // Lanes below 2 * count of the 16 values, and lanes below count of the outputs.
      const __m256i values = _mm256_set1_epi32(static_cast<std::int32_t>(2 * count));
      const __m256i mask_lo = _mm256_cmpgt_epi32(values, lane);
      const __m256i mask_hi = _mm256_cmpgt_epi32(values, _mm256_add_epi32(lane, _mm256_set1_epi32(8)));
      lo0 = _mm256_maskload_ps(p0, mask_lo);
      hi0 = _mm256_maskload_ps(p0 + 8, mask_hi);
      lo1 = _mm256_maskload_ps(p1, mask_lo);
      hi1 = _mm256_maskload_ps(p1 + 8, mask_hi);
    }
    __m256 best = evens(lo0, hi0);
    __m256i offset = _mm256_setzero_si256();
    const auto step = [&](__m256 v, __m256i off) {
      const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      best = _mm256_blendv_ps(best, v, take);
      offset = _mm256_blendv_epi8(offset, off, _mm256_castps_si256(take));
    };
    step(odds(lo0, hi0), off_b);
    step(evens(lo1, hi1), off_c);
    step(odds(lo1, hi1), off_d);
    // first + 2 (ow + lane) + offset, widened to 64 bits four at a time.
    const __m256i local = _mm256_add_epi32(_mm256_add_epi32(lane, lane), offset);
    const __m256i base = _mm256_set1_epi64x(first + 2 * ow);
    const __m256i idx_lo = _mm256_add_epi64(base, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(local)));
    const __m256i idx_hi = _mm256_add_epi64(base, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(local, 1)));
    if (count == 8) {
      _mm256_storeu_ps(y + ow, best);
      if (indices) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(indices + ow), idx_lo);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(indices + ow + 4), idx_hi);
      }
    } else {
      // Through the stack: masked stores are slow on AMD cores.
      alignas(32) float values[8];
      alignas(32) std::int64_t where[8];
      _mm256_store_ps(values, best);
      _mm256_store_si256(reinterpret_cast<__m256i*>(where), idx_lo);
      _mm256_store_si256(reinterpret_cast<__m256i*>(where + 4), idx_hi);
      std::copy(values, values + count, y + ow);
      if (indices) std::copy(where, where + count, indices + ow);
    }
  }
}
#endif

template <class T>
void max_pool_2x2_row(const T* r0, std::int64_t w, std::int64_t wo, T* y, std::int64_t* indices, std::int64_t first) {
  max_pool_2x2_row_scalar(r0, w, 0, wo, y, indices, first);
}

}  // namespace conv_detail

// Max over each window (padding never wins); indices hold the flat position
// ih * w + iw of the maximum in its input plane (first one on ties; NaN wins).
template <class T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, std::int64_t* indices) {
  const std::int64_t in_plane = g.h * g.w;
  const std::int64_t out_plane = g.ho * g.wo;
  parallel_for(0, g.planes(), 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* xp = x + p * in_plane;
      T* yp = y + p * out_plane;
      std::int64_t* ip = indices ? indices + p * out_plane : nullptr;
      if (g.kh == 2 && g.kw == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 && g.pad_w == 0) {
        // 2x2 windows, stride 2, no padding (the usual CNN pool): every window
        // lies inside the plane, so no bounds per output.
        for (std::int64_t oh = 0; oh < g.ho; ++oh) {
          conv_detail::max_pool_2x2_row(xp + 2 * oh * g.w, g.w, g.wo, yp + oh * g.wo, ip ? ip + oh * g.wo : nullptr,
                                        2 * oh * g.w);
        }
        continue;
      }
      for (std::int64_t oh = 0; oh < g.ho; ++oh) {
        const std::int64_t h0 = oh * g.stride_h - g.pad_h;
        const std::int64_t hs = std::max<std::int64_t>(h0, 0);
        const std::int64_t he = std::min(h0 + g.kh, g.h);
        for (std::int64_t ow = 0; ow < g.wo; ++ow) {
          const std::int64_t w0 = ow * g.stride_w - g.pad_w;
          const std::int64_t ws = std::max<std::int64_t>(w0, 0);
          const std::int64_t we = std::min(w0 + g.kw, g.w);
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t best_index = hs * g.w + ws;
          for (std::int64_t ih = hs; ih < he; ++ih) {
            for (std::int64_t iw = ws; iw < we; ++iw) {
              const T v = xp[ih * g.w + iw];
              if (v > best || std::isnan(v)) {  // NaN propagates, as in PyTorch
                best = v;
                best_index = ih * g.w + iw;
              }
            }
          }
          yp[oh * g.wo + ow] = best;
          if (ip) ip[oh * g.wo + ow] = best_index;
        }
      }
    }
  });
}

// dx (zeroed here) gets each dy added at its window's argmax.
template <class T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const std::int64_t* indices, T* dx) {
  const std::int64_t in_plane = g.h * g.w;
  const std::int64_t out_plane = g.ho * g.wo;
  parallel_for(0, g.planes(), 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      T* dxp = dx + p * in_plane;
      std::fill(dxp, dxp + in_plane, T(0));
      const T* dyp = dy + p * out_plane;
      const std::int64_t* ip = indices + p * out_plane;
      for (std::int64_t o = 0; o < out_plane; ++o) dxp[ip[o]] += dyp[o];
    }
  });
}

namespace conv_detail {

// PyTorch's avg_pool2d window with count_include_pad: the divisor counts
// padded taps (the window clipped to the padded input), the sum does not.
struct AvgWindow {
  std::int64_t start, end, size;
};
inline AvgWindow avg_window(std::int64_t o, std::int64_t stride, std::int64_t pad, std::int64_t kernel,
                            std::int64_t extent) {
  std::int64_t s = o * stride - pad;
  std::int64_t e = std::min(s + kernel, extent + pad);
  const std::int64_t size = e - s;
  s = std::max<std::int64_t>(s, 0);
  e = std::min(e, extent);
  return {s, e, size};
}

}  // namespace conv_detail

template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  const std::int64_t in_plane = g.h * g.w;
  const std::int64_t out_plane = g.ho * g.wo;
  parallel_for(0, g.planes(), 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* xp = x + p * in_plane;
      T* yp = y + p * out_plane;
      for (std::int64_t oh = 0; oh < g.ho; ++oh) {
        const auto wh = conv_detail::avg_window(oh, g.stride_h, g.pad_h, g.kh, g.h);
        for (std::int64_t ow = 0; ow < g.wo; ++ow) {
          const auto ww = conv_detail::avg_window(ow, g.stride_w, g.pad_w, g.kw, g.w);
          T total = T(0);
          for (std::int64_t ih = wh.start; ih < wh.end; ++ih) {
            for (std::int64_t iw = ww.start; iw < ww.end; ++iw) total += xp[ih * g.w + iw];
          }
          yp[oh * g.wo + ow] = total / static_cast<T>(wh.size * ww.size);
        }
      }
    }
  });
}

// dx (zeroed here) gets dy / divisor spread over each window.
template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx) {
  const std::int64_t in_plane = g.h * g.w;
  const std::int64_t out_plane = g.ho * g.wo;
  parallel_for(0, g.planes(), 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      T* dxp = dx + p * in_plane;
      std::fill(dxp, dxp + in_plane, T(0));
      const T* dyp = dy + p * out_plane;
      for (std::int64_t oh = 0; oh < g.ho; ++oh) {
        const auto wh = conv_detail::avg_window(oh, g.stride_h, g.pad_h, g.kh, g.h);
        for (std::int64_t ow = 0; ow < g.wo; ++ow) {
          const auto ww = conv_detail::avg_window(ow, g.stride_w, g.pad_w, g.kw, g.w);
          const T share = dyp[oh * g.wo + ow] / static_cast<T>(wh.size * ww.size);
          for (std::int64_t ih = wh.start; ih < wh.end; ++ih) {
            for (std::int64_t iw = ww.start; iw < ww.end; ++iw) dxp[ih * g.w + iw] += share;
          }
        }
      }
    }
  });
}

// Adaptive average pooling: output cell o covers [floor(o*h/oh), ceil((o+1)*h/oh)).
template <class T>
void adaptive_avg_pool2d_forward(std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh,
                                 std::int64_t ow, const T* x, T* y) {
  parallel_for(0, planes, 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* xp = x + p * h * w;
      T* yp = y + p * oh * ow;
      for (std::int64_t i = 0; i < oh; ++i) {
        const std::int64_t hs = i * h / oh;
        const std::int64_t he = ((i + 1) * h + oh - 1) / oh;
        for (std::int64_t j = 0; j < ow; ++j) {
          const std::int64_t ws = j * w / ow;
          const std::int64_t we = ((j + 1) * w + ow - 1) / ow;
          T total = T(0);
          for (std::int64_t ih = hs; ih < he; ++ih) {
            for (std::int64_t iw = ws; iw < we; ++iw) total += xp[ih * w + iw];
          }
          yp[i * ow + j] = total / static_cast<T>((he - hs) * (we - ws));
        }
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_backward(std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh,
                                  std::int64_t ow, const T* dy, T* dx) {
  parallel_for(0, planes, 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      T* dxp = dx + p * h * w;
      std::fill(dxp, dxp + h * w, T(0));
      const T* dyp = dy + p * oh * ow;
      for (std::int64_t i = 0; i < oh; ++i) {
        const std::int64_t hs = i * h / oh;
        const std::int64_t he = ((i + 1) * h + oh - 1) / oh;
        for (std::int64_t j = 0; j < ow; ++j) {
          const std::int64_t ws = j * w / ow;
          const std::int64_t we = ((j + 1) * w + ow - 1) / ow;
          const T share = dyp[i * ow + j] / static_cast<T>((he - hs) * (we - ws));
          for (std::int64_t ih = hs; ih < he; ++ih) {
            for (std::int64_t iw = ws; iw < we; ++iw) dxp[ih * w + iw] += share;
          }
        }
      }
    }
  });
}

}  // namespace nabla::kernels

NABLA_SIMD_WARNINGS_END

// Convolution (im2col + GEMM, NCHW) and 2-D pooling kernels, forward and backward.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "nabla/core/tensor.hpp"
#include "nabla/kernels/gemm.hpp"
#include "nabla/kernels/parallel.hpp"

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

// col[(ci * kh + i) * kw + j, oh * wo + ow] = x[ci, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside).
template <class T>
void im2col(const Conv2dGeometry& g, const T* x, std::int64_t channels, T* col) {
  const std::int64_t plane = g.out_plane();
  for (std::int64_t ci = 0; ci < channels; ++ci) {
    const T* src = x + ci * g.h * g.w;
    for (std::int64_t i = 0; i < g.kh; ++i) {
      const std::int64_t h_off = i * g.dil_h - g.pad_h;
      std::int64_t oh_lo = 0, oh_hi = 0;
      valid_range(h_off, g.stride_h, g.h, g.ho, oh_lo, oh_hi);
      for (std::int64_t j = 0; j < g.kw; ++j) {
        T* dst = col + ((ci * g.kh + i) * g.kw + j) * plane;
        const std::int64_t w_off = j * g.dil_w - g.pad_w;
        std::int64_t ow_lo = 0, ow_hi = 0;
        valid_range(w_off, g.stride_w, g.w, g.wo, ow_lo, ow_hi);
        std::fill(dst, dst + oh_lo * g.wo, T(0));
        for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          T* row = dst + oh * g.wo;
          const T* srow = src + (oh * g.stride_h + h_off) * g.w + w_off;
          std::fill(row, row + ow_lo, T(0));
          if (g.stride_w == 1) {
            std::memcpy(row + ow_lo, srow + ow_lo, static_cast<std::size_t>(ow_hi - ow_lo) * sizeof(T));
          } else {
            for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) row[ow] = srow[ow * g.stride_w];
          }
          std::fill(row + ow_hi, row + g.wo, T(0));
        }
        std::fill(dst + oh_hi * g.wo, dst + plane, T(0));
      }
    }
  }
}

// The adjoint of im2col: dx[ci, ...] += col[...] (dx zeroed by the caller).
template <class T>
void col2im(const Conv2dGeometry& g, const T* col, std::int64_t channels, T* dx) {
  const std::int64_t plane = g.out_plane();
  for (std::int64_t ci = 0; ci < channels; ++ci) {
    T* dst = dx + ci * g.h * g.w;
    for (std::int64_t i = 0; i < g.kh; ++i) {
      const std::int64_t h_off = i * g.dil_h - g.pad_h;
      std::int64_t oh_lo = 0, oh_hi = 0;
      valid_range(h_off, g.stride_h, g.h, g.ho, oh_lo, oh_hi);
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const T* src = col + ((ci * g.kh + i) * g.kw + j) * plane;
        const std::int64_t w_off = j * g.dil_w - g.pad_w;
        std::int64_t ow_lo = 0, ow_hi = 0;
        valid_range(w_off, g.stride_w, g.w, g.wo, ow_lo, ow_hi);
        for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          const T* row = src + oh * g.wo;
          T* drow = dst + (oh * g.stride_h + h_off) * g.w + w_off;
          if (g.stride_w == 1) {
            for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) drow[ow] += row[ow];
          } else {
            for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) drow[ow * g.stride_w] += row[ow];
          }
        }
      }
    }
  }
}

template <class T>
T contiguous_sum(const T* a, std::int64_t n) {
  using B = xsimd::batch<T>;
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

}  // namespace conv_detail

// y = conv2d(x, w) + bias (bias may be null), NCHW. Images are split into one
// piece per thread; each piece owns an im2col workspace from the pool.
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  if (g.n == 0 || g.k == 0 || g.out_plane() == 0) return;
  const std::int64_t plane = g.out_plane();
  const std::int64_t rows = g.col_rows();
  const std::int64_t kg = g.group_filters();
  const std::int64_t tasks = std::min<std::int64_t>(g.n, get_num_threads());
  const std::int64_t col_size = g.pointwise() ? 0 : rows * plane;
  const Tensor<T> workspace = Tensor<T>::empty(Shape{tasks * col_size});
  T* ws = workspace.data();
  parallel_for(0, tasks, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      T* col = ws + t * col_size;
      const std::int64_t first = conv_detail::split_point(g.n, tasks, t);
      const std::int64_t last = conv_detail::split_point(g.n, tasks, t + 1);
      for (std::int64_t n = first; n < last; ++n) {
        for (std::int64_t gi = 0; gi < g.groups; ++gi) {
          const T* x_ng = x + (n * g.c + gi * g.group_channels()) * g.h * g.w;
          T* y_ng = y + (n * g.k + gi * kg) * plane;
          const T* cols = x_ng;
          if (!g.pointwise()) {
            conv_detail::im2col(g, x_ng, g.group_channels(), col);
            cols = col;
          }
          T beta = T(0);
          if (bias) {
            for (std::int64_t r = 0; r < kg; ++r) std::fill(y_ng + r * plane, y_ng + (r + 1) * plane, bias[gi * kg + r]);
            beta = T(1);
          }
          gemm(false, false, kg, plane, rows, T(1), w + gi * kg * rows, rows, cols, plane, beta, y_ng, plane);
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
  const std::int64_t col_size = g.pointwise() ? 0 : rows * plane;
  const std::int64_t partial_size = dw ? weight_size : 0;
  // Chunk 0 accumulates straight into dw; chunks 1.. into partial buffers.
  const Tensor<T> workspace = Tensor<T>::empty(Shape{tasks * col_size + (chunks - 1) * partial_size});
  T* ws = workspace.data();
  T* partials = ws + tasks * col_size;
  parallel_for(0, tasks, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      T* col = ws + t * col_size;
      const std::int64_t chunk_first = conv_detail::split_point(chunks, tasks, t);
      const std::int64_t chunk_last = conv_detail::split_point(chunks, tasks, t + 1);
      for (std::int64_t ch = chunk_first; ch < chunk_last; ++ch) {
        T* dw_part = dw ? (ch == 0 ? dw : partials + (ch - 1) * partial_size) : nullptr;
        const std::int64_t first = conv_detail::split_point(g.n, chunks, ch);
        const std::int64_t last = conv_detail::split_point(g.n, chunks, ch + 1);
        for (std::int64_t n = first; n < last; ++n) {
          if (dx && !g.pointwise()) std::fill(dx + n * g.c * g.h * g.w, dx + (n + 1) * g.c * g.h * g.w, T(0));
          for (std::int64_t gi = 0; gi < g.groups; ++gi) {
            const std::int64_t in_offset = (n * g.c + gi * g.group_channels()) * g.h * g.w;
            const T* dy_ng = dy + (n * g.k + gi * kg) * plane;
            const T* w_g = w + gi * kg * rows;
            if (dw) {
              // dW_g += dy_ng [kg, plane] * col^T [plane, rows]
              const T* cols = x + in_offset;
              if (!g.pointwise()) {
                conv_detail::im2col(g, x + in_offset, g.group_channels(), col);
                cols = col;
              }
              gemm(false, true, kg, rows, plane, T(1), dy_ng, plane, cols, plane, n == first ? T(0) : T(1),
                   dw_part + gi * kg * rows, rows);
            }
            if (dx) {
              // dcol [rows, plane] = W_g^T * dy_ng, then scattered back by col2im.
              if (g.pointwise()) {
                gemm(true, false, rows, plane, kg, T(1), w_g, rows, dy_ng, plane, T(0), dx + in_offset, plane);
              } else {
                gemm(true, false, rows, plane, kg, T(1), w_g, rows, dy_ng, plane, T(0), col, plane);
                conv_detail::col2im(g, col, g.group_channels(), dx + in_offset);
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
        // lies inside the plane, so no bounds per output (about 5x fewer
        // instructions); the same comparisons in the same order as below.
        for (std::int64_t oh = 0; oh < g.ho; ++oh) {
          for (std::int64_t ow = 0; ow < g.wo; ++ow) {
            const std::int64_t first = 2 * oh * g.w + 2 * ow;
            T best = xp[first];
            std::int64_t best_index = first;
            for (const std::int64_t i : {first + 1, first + g.w, first + g.w + 1}) {
              const T v = xp[i];
              // Selects, not branches (random data mispredicts half of them);
              // NaN propagates, as in PyTorch.
              const bool take = (v > best) | (v != v);
              best = take ? v : best;
              best_index = take ? i : best_index;
            }
            yp[oh * g.wo + ow] = best;
            if (ip) ip[oh * g.wo + ow] = best_index;
          }
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

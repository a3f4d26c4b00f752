// Runtime kernels for the detectors' exports (torchvision's SSDlite and
// Faster R-CNN): TopK, NonMaxSuppression, RoiAlign, Resize, GatherND,
// ScatterElements and ReduceProd, as ONNX specifies them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/graph/kernel.hpp"
#include "nabla/graph/ops_math.hpp"
#include "nabla/graph/ops_shape.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla::graph::ops {
namespace detect_impl {

// Whether optional input k is present.
inline bool given(const std::vector<Value>& in, std::size_t k) { return in.size() > k && in[k].defined(); }

// Product of shape[from, to).
inline std::int64_t extent_product(const Shape& shape, std::size_t from, std::size_t to) {
  std::int64_t n = 1;
  for (std::size_t d = from; d < to; ++d) n *= shape[d];
  return n;
}

// Index i of an axis of extent n, negative counting from the end.
inline std::int64_t index_in(std::int64_t i, std::int64_t n, std::size_t axis, const Shape& shape, const std::string& what) {
  if (i < -n || i >= n) {
    throw IndexError(nabla::detail::message(what, ": index ", i, " is out of range for axis ", axis, " of shape ",
                                            to_string(shape)));
  }
  return i < 0 ? i + n : i;
}

// The values of a float32/float64 tensor as doubles (scales, thresholds, roi).
inline std::vector<double> float_list(const Value& v, const std::string& what) {
  return detail::visit_floating(v, what, [](const auto& t) {
    std::vector<double> r;
    for (auto e : t.to_vector()) r.push_back(static_cast<double>(e));
    return r;
  });
}

// An optional one-element float input (NonMaxSuppression's thresholds).
inline double float_scalar(const std::vector<Value>& in, std::size_t k, double fallback, const std::string& what) {
  if (!given(in, k)) return fallback;
  const std::vector<double> v = float_list(in[k], what);
  if (v.size() != 1) {
    throw ShapeError(nabla::detail::message(what, ": expected one value, got shape ", to_string(in[k].shape())));
  }
  return v[0];
}

}  // namespace detect_impl

// TopK(X, K): the K largest (or smallest) entries along `axis`, sorted,
// and their int64 indices. Equal values keep their order (the lower index
// first), as ONNX asks; NaN ranks above every number, as in torch.topk.
// sorted=0 leaves the order to the runtime: this one sorts anyway.
inline std::unique_ptr<OpKernel> make_TopK(const Node& node, const KernelContext& ctx) {
  detail::require_inputs(node, 2, 2);
  const std::int64_t axis = node.attr_int("axis", -1);
  const bool largest = ctx.opset < 11 || node.attr_int("largest", 1) != 0;
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> ks = detail::int_list(in[1], what + " K");
    if (ks.size() != 1) throw ShapeError(nabla::detail::message(what, ": K must hold one value, got shape ", to_string(in[1].shape())));
    const std::int64_t k = ks[0];
    detail::visit_numeric(in[0], what, [&](const auto& x_in) {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      const std::size_t a = impl::axis_in(axis, x_in.ndim(), what);
      const Shape& shape = x_in.shape();
      const std::int64_t n = shape[a];
      if (k < 0 || k > n) {
        throw ValueError(nabla::detail::message(what, ": K = ", k, " is out of range for axis ", a, " of shape ", to_string(shape)));
      }
      const Tensor<T> x = x_in.contiguous();
      const std::int64_t outer = detect_impl::extent_product(shape, 0, a), inner = detect_impl::extent_product(shape, a + 1, shape.size());
      Shape out_shape = shape;
      out_shape[a] = k;
      Tensor<T> values = Tensor<T>::empty(out_shape);
      Tensor<std::int64_t> indices = Tensor<std::int64_t>::empty(out_shape);
      std::vector<std::int64_t> order(static_cast<std::size_t>(n));
      for (std::int64_t o = 0; o < outer; ++o) {
        for (std::int64_t i = 0; i < inner; ++i) {
          const T* row = x.data() + o * n * inner + i;
          auto first = [&](std::int64_t p, std::int64_t q) {
            const T u = row[p * inner], v = row[q * inner];
            if constexpr (std::is_floating_point_v<T>) {
              const bool nan_u = std::isnan(u), nan_v = std::isnan(v);
              if (nan_u || nan_v) return nan_u && nan_v ? p < q : (largest ? nan_u : nan_v);
            }
            if (u != v) return largest ? u > v : u < v;
            return p < q;
          };
          std::iota(order.begin(), order.end(), std::int64_t{0});
          std::partial_sort(order.begin(), order.begin() + k, order.end(), first);
          for (std::int64_t j = 0; j < k; ++j) {
            const std::int64_t at = (o * k + j) * inner + i;
            values.data()[at] = row[order[static_cast<std::size_t>(j)] * inner];
            indices.data()[at] = order[static_cast<std::size_t>(j)];
          }
        }
      }
      out[0] = values;
      if (out.size() > 1) out[1] = indices;
      return 0;
    });
  });
}

// NonMaxSuppression(boxes [B, N, 4], scores [B, C, N], max_output_boxes_per_class,
// iou_threshold, score_threshold) -> [M, 3] int64 (batch, class, box).
// Per batch and class: the boxes scoring above score_threshold (when given;
// NaN scores never), by descending score (ties: the lower box index first),
// each kept unless its IoU with a box kept before it exceeds iou_threshold,
// at most max_output_boxes_per_class of them (absent or 0: none, as ONNX
// says). center_point_box 0: [y1, x1, y2, x2] with the corners in either
// order; 1: [x_center, y_center, width, height]. torchvision.ops.nms's rule.
inline std::unique_ptr<OpKernel> make_NonMaxSuppression(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 5);
  const std::int64_t center_point_box = node.attr_int("center_point_box", 0);
  if (center_point_box != 0 && center_point_box != 1) {
    throw ValueError(nabla::detail::message(node.describe(), ": center_point_box must be 0 or 1, got ", center_point_box));
  }
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    std::int64_t max_per_class = 0;
    if (detect_impl::given(in, 2)) {
      const auto m = detail::int_list(in[2], what + " max_output_boxes_per_class");
      if (m.size() > 1) {
        throw ShapeError(nabla::detail::message(what, ": max_output_boxes_per_class must hold one value, got shape ",
                                                to_string(in[2].shape())));
      }
      if (!m.empty()) max_per_class = std::max<std::int64_t>(m[0], 0);
    }
    const double iou_threshold = detect_impl::float_scalar(in, 3, 0.0, what + " iou_threshold");
    if (!(iou_threshold >= 0.0 && iou_threshold <= 1.0)) {
      throw ValueError(nabla::detail::message(what, ": iou_threshold must be in [0, 1], got ", iou_threshold));
    }
    const bool has_score_threshold = detect_impl::given(in, 4);
    const double score_threshold = detect_impl::float_scalar(in, 4, 0.0, what + " score_threshold");
    std::vector<std::int64_t> selected;  // (batch, class, box) triples
    detail::visit_floating(in[0], what + " boxes", [&](const auto& boxes_in) {
      using T = typename std::decay_t<decltype(boxes_in)>::value_type;
      const Tensor<T>& scores_in = in[1].as<T>(what, "scores");
      const Shape& bs = boxes_in.shape();
      const Shape& ss = scores_in.shape();
      if (bs.size() != 3 || bs[2] != 4 || ss.size() != 3 || ss[0] != bs[0] || ss[2] != bs[1]) {
        throw ShapeError(nabla::detail::message(what, ": boxes must be [B, N, 4] and scores [B, C, N], got ", to_string(bs),
                                                " and ", to_string(ss)));
      }
      const Tensor<T> boxes = boxes_in.contiguous(), scores = scores_in.contiguous();
      const std::int64_t batches = bs[0], n = bs[1], classes = ss[1];
      struct Corners {
        T x1, y1, x2, y2;
      };
      std::vector<Corners> corners(static_cast<std::size_t>(n));
      std::vector<std::int64_t> order, kept;
      std::vector<std::vector<std::int64_t>> buckets;  // kept boxes by x1
      for (std::int64_t b = 0; b < batches; ++b) {
        for (std::int64_t i = 0; i < n; ++i) {
          const T* p = boxes.data() + (b * n + i) * 4;
          Corners& c = corners[static_cast<std::size_t>(i)];
          if (center_point_box == 0) {
            c = {std::min(p[1], p[3]), std::min(p[0], p[2]), std::max(p[1], p[3]), std::max(p[0], p[2])};
          } else {
            c = {p[0] - p[2] / T(2), p[1] - p[3] / T(2), p[0] + p[2] / T(2), p[1] + p[3] / T(2)};
          }
        }
        // Strictly above the threshold: IoU over it suppresses; no overlap never does.
        auto overlaps = [&](std::int64_t i, std::int64_t j) {
          const Corners& a = corners[static_cast<std::size_t>(i)];
          const Corners& c = corners[static_cast<std::size_t>(j)];
          const T w = std::min(a.x2, c.x2) - std::max(a.x1, c.x1), h = std::min(a.y2, c.y2) - std::max(a.y1, c.y1);
          if (!(w > T(0) && h > T(0))) return false;
          const T inter = w * h;
          const T area_a = (a.x2 - a.x1) * (a.y2 - a.y1), area_c = (c.x2 - c.x1) * (c.y2 - c.y1);
          const T uni = area_a + area_c - inter;
          if (!(uni > T(0))) return false;
          return static_cast<double>(inter / uni) > iou_threshold;
        };
        for (std::int64_t cls = 0; cls < classes && max_per_class > 0; ++cls) {
          const T* s = scores.data() + (b * classes + cls) * n;
          order.clear();
          for (std::int64_t i = 0; i < n; ++i) {
            if (std::isnan(s[i])) continue;
            if (has_score_threshold && !(static_cast<double>(s[i]) > score_threshold)) continue;
            order.push_back(i);
          }
          std::stable_sort(order.begin(), order.end(), [s](std::int64_t p, std::int64_t q) { return s[p] > s[q]; });
          // Kept boxes are filed in buckets by x1, so a candidate is only
          // compared with kept boxes its x range can meet: exporters run
          // batched NMS as one class with each class's boxes shifted apart
          // (27,000 boxes for SSDlite), where comparing with every kept box
          // is quadratic. A kept box k with k.x1 >= i.x2 or k.x2 <= i.x1
          // cannot overlap i, and k.x2 <= k.x1 + max_width; the slack keeps
          // the window wide of rounding, so the boxes kept are exactly
          // greedy NMS's.
          double max_width = 0.0, min_x1 = 0.0, max_x1 = 0.0;
          for (std::size_t r = 0; r < order.size(); ++r) {
            const Corners& c = corners[static_cast<std::size_t>(order[r])];
            max_width = std::max(max_width, static_cast<double>(c.x2) - static_cast<double>(c.x1));
            min_x1 = r == 0 ? static_cast<double>(c.x1) : std::min(min_x1, static_cast<double>(c.x1));
            max_x1 = r == 0 ? static_cast<double>(c.x1) : std::max(max_x1, static_cast<double>(c.x1));
          }
          const double slack = 1e-6 * (std::max(std::abs(min_x1), std::abs(max_x1)) + max_width + 1.0);
          const double span = max_x1 - min_x1;
          // Non-finite coordinates fall back to one bucket (every kept box).
          const double per_width = span / std::max(max_width + slack, 1e-30);
          const std::size_t bucket_count =
              std::isfinite(per_width) && per_width >= 0
                  ? std::max<std::size_t>(1, std::min(order.size(), static_cast<std::size_t>(std::min(per_width, 1e9)) + 1))
                  : 1;
          const double cell = bucket_count > 1 ? span / static_cast<double>(bucket_count) : 1.0;
          auto bucket_of = [&](double x) {
            const double at = std::floor((x - min_x1) / cell);
            if (bucket_count == 1 || !(at > 0)) return std::size_t{0};
            return at >= static_cast<double>(bucket_count - 1) ? bucket_count - 1 : static_cast<std::size_t>(at);
          };
          buckets.resize(std::max(buckets.size(), bucket_count));
          for (std::size_t k = 0; k < bucket_count; ++k) buckets[k].clear();
          kept.clear();
          for (std::int64_t i : order) {
            if (static_cast<std::int64_t>(kept.size()) >= max_per_class) break;
            const Corners& c = corners[static_cast<std::size_t>(i)];
            const std::size_t lo = bucket_of(static_cast<double>(c.x1) - max_width - slack);
            const std::size_t hi = bucket_of(static_cast<double>(c.x2) + slack);
            bool suppressed = false;
            for (std::size_t k = lo; k <= hi && !suppressed; ++k) {
              for (std::int64_t j : buckets[k]) {
                if (overlaps(j, i)) {
                  suppressed = true;
                  break;
                }
              }
            }
            if (suppressed) continue;
            kept.push_back(i);
            buckets[bucket_of(static_cast<double>(c.x1))].push_back(i);
            selected.insert(selected.end(), {b, cls, i});
          }
        }
      }
      return 0;
    });
    const auto m = static_cast<std::int64_t>(selected.size() / 3);
    out[0] = Tensor<std::int64_t>(Shape{m, 3}, std::move(selected));
  });
}

// RoiAlign(X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2), batch_indices [R])
// -> [R, C, output_height, output_width]. Each bin averages (mode "avg") a
// grid of bilinear samples, sampling_ratio per side (0: ceil(roi extent /
// bins)); samples beyond [-1, H] x [-1, W] count as 0. Mode "max" takes, as
// ONNX's reference and ONNX Runtime do, the largest weighted corner
// w_k * X[corner_k] over the samples (not the largest interpolated value).
// coordinate_transformation_mode (opset 16; opset 10 is "output_half_pixel"):
// "half_pixel" shifts rois by -0.5 (torchvision's aligned=True);
// "output_half_pixel" does not, and makes every roi at least 1x1.
inline std::unique_ptr<OpKernel> make_RoiAlign(const Node& node, const KernelContext& ctx) {
  detail::require_inputs(node, 3, 3);
  const std::string mode = node.attr_string("mode", "avg");
  const std::string transform =
      ctx.opset >= 16 ? node.attr_string("coordinate_transformation_mode", "half_pixel") : std::string("output_half_pixel");
  const std::int64_t out_h = node.attr_int("output_height", 1), out_w = node.attr_int("output_width", 1);
  const std::int64_t sampling_ratio = node.attr_int("sampling_ratio", 0);
  const double spatial_scale = node.attr_float("spatial_scale", 1.0);
  if (mode != "avg" && mode != "max") throw ValueError(node.describe() + ": unsupported mode '" + mode + "' (avg, max)");
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    throw ValueError(node.describe() + ": unsupported coordinate_transformation_mode '" + transform +
                     "' (half_pixel, output_half_pixel)");
  }
  if (out_h < 1 || out_w < 1 || sampling_ratio < 0) {
    throw ValueError(nabla::detail::message(node.describe(), ": output_height ", out_h, " and output_width ", out_w,
                                            " must be at least 1 and sampling_ratio ", sampling_ratio, " at least 0"));
  }
  const bool average = mode == "avg", half_pixel = transform == "half_pixel";
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> batch_of = detail::int_list(in[2], what + " batch_indices");
    out[0] = detail::visit_floating(in[0], what, [&](const auto& x_in) -> Value {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      const Tensor<T>& rois_in = in[1].as<T>(what, "rois");
      const Shape& xs = x_in.shape();
      const Shape& rs = rois_in.shape();
      if (xs.size() != 4 || rs.size() != 2 || rs[1] != 4 || in[2].shape().size() != 1 ||
          static_cast<std::int64_t>(batch_of.size()) != rs[0]) {
        throw ShapeError(nabla::detail::message(what, ": X must be [N, C, H, W], rois [R, 4] and batch_indices [R], got ",
                                                to_string(xs), ", ", to_string(rs), " and ", to_string(in[2].shape())));
      }
      for (std::int64_t b : batch_of) {
        if (b < 0 || b >= xs[0]) {
          throw IndexError(nabla::detail::message(what, ": batch index ", b, " is out of range for X of shape ", to_string(xs)));
        }
      }
      if ((xs[2] == 0 || xs[3] == 0) && rs[0] > 0 && xs[1] > 0) {
        throw ShapeError(nabla::detail::message(what, ": cannot pool rois from the empty feature map ", to_string(xs)));
      }
      const Tensor<T> x = x_in.contiguous(), rois = rois_in.contiguous();
      const std::int64_t r_count = rs[0], channels = xs[1], height = xs[2], width = xs[3];
      const std::int64_t plane = height * width, bins = out_h * out_w;
      Tensor<T> y = Tensor<T>::empty(Shape{r_count, channels, out_h, out_w});
      const T* src = x.data();
      T* dst = y.data();
      const T* roi_data = rois.data();
      // One sample: four corner offsets in a plane and their bilinear
      // weights. Positions, weights and sums are double for float32 too:
      // float sample positions in a large map are off by ~1e-5 of a pixel.
      struct Sample {
        std::int64_t pos[4];
        double w[4];
      };
      kernels::parallel_for(0, r_count, 1, [&](std::int64_t lo, std::int64_t hi) {
        std::vector<Sample> samples;
        for (std::int64_t r = lo; r < hi; ++r) {
          const T* roi = roi_data + r * 4;
          const double offset = half_pixel ? 0.5 : 0.0;
          const double x1 = static_cast<double>(roi[0]) * spatial_scale - offset;
          const double y1 = static_cast<double>(roi[1]) * spatial_scale - offset;
          double roi_w = static_cast<double>(roi[2]) * spatial_scale - offset - x1;
          double roi_h = static_cast<double>(roi[3]) * spatial_scale - offset - y1;
          if (!half_pixel) {
            roi_w = std::max(roi_w, 1.0);
            roi_h = std::max(roi_h, 1.0);
          }
          const double bin_h = roi_h / static_cast<double>(out_h), bin_w = roi_w / static_cast<double>(out_w);
          const std::int64_t grid_h = sampling_ratio > 0 ? sampling_ratio : static_cast<std::int64_t>(std::ceil(bin_h));
          const std::int64_t grid_w = sampling_ratio > 0 ? sampling_ratio : static_cast<std::int64_t>(std::ceil(bin_w));
          const auto count = static_cast<double>(std::max<std::int64_t>(grid_h * grid_w, 1));
          samples.clear();
          for (std::int64_t ph = 0; ph < out_h; ++ph) {
            for (std::int64_t pw = 0; pw < out_w; ++pw) {
              for (std::int64_t iy = 0; iy < grid_h; ++iy) {
                const double sy = y1 + static_cast<double>(ph) * bin_h + (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
                for (std::int64_t ix = 0; ix < grid_w; ++ix) {
                  const double sx = x1 + static_cast<double>(pw) * bin_w + (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
                  Sample s{{0, 0, 0, 0}, {0.0, 0.0, 0.0, 0.0}};
                  if (!(sy < -1.0 || sy > static_cast<double>(height) || sx < -1.0 || sx > static_cast<double>(width))) {
                    double yy = std::max(sy, 0.0), xx = std::max(sx, 0.0);
                    std::int64_t y_lo = static_cast<std::int64_t>(yy), x_lo = static_cast<std::int64_t>(xx), y_hi, x_hi;
                    if (y_lo >= height - 1) {
                      y_lo = y_hi = height - 1;
                      yy = static_cast<double>(y_lo);
                    } else {
                      y_hi = y_lo + 1;
                    }
                    if (x_lo >= width - 1) {
                      x_lo = x_hi = width - 1;
                      xx = static_cast<double>(x_lo);
                    } else {
                      x_hi = x_lo + 1;
                    }
                    const double ly = yy - static_cast<double>(y_lo), lx = xx - static_cast<double>(x_lo);
                    const double hy = 1.0 - ly, hx = 1.0 - lx;
                    s = {{y_lo * width + x_lo, y_lo * width + x_hi, y_hi * width + x_lo, y_hi * width + x_hi},
                         {hy * hx, hy * lx, ly * hx, ly * lx}};
                  }
                  samples.push_back(s);
                }
              }
            }
          }
          const std::size_t per_bin = static_cast<std::size_t>(grid_h * grid_w);
          for (std::int64_t c = 0; c < channels; ++c) {
            const T* p = src + (batch_of[static_cast<std::size_t>(r)] * channels + c) * plane;
            T* o = dst + (r * channels + c) * bins;
            for (std::int64_t bin = 0; bin < bins; ++bin) {
              const Sample* s = samples.data() + static_cast<std::size_t>(bin) * per_bin;
              double acc = 0.0;
              for (std::size_t k = 0; k < per_bin; ++k) {
                const double v0 = s[k].w[0] * static_cast<double>(p[s[k].pos[0]]), v1 = s[k].w[1] * static_cast<double>(p[s[k].pos[1]]);
                const double v2 = s[k].w[2] * static_cast<double>(p[s[k].pos[2]]), v3 = s[k].w[3] * static_cast<double>(p[s[k].pos[3]]);
                if (average) {
                  acc += v0 + v1 + v2 + v3;
                } else {
                  const double v = std::max(std::max(v0, v1), std::max(v2, v3));
                  acc = k == 0 ? v : std::max(acc, v);
                }
              }
              o[bin] = static_cast<T>(average ? acc / count : acc);
            }
          }
        }
      });
      return y;
    });
  });
}

namespace detect_impl {

struct ResizeOptions {
  std::string mode;            // nearest, linear, cubic
  std::string transform;       // coordinate_transformation_mode
  std::string nearest_mode;    // round_prefer_floor, round_prefer_ceil, floor, ceil
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;  // tf_crop_and_resize outside the input
};

// How one axis is resampled: for output position j, `taps` input indices
// index[j * taps + t] with weights weight[...]; outside[j] marks positions
// tf_crop_and_resize extrapolates.
struct ResizeAxis {
  std::int64_t in = 0, out = 0;
  std::int64_t taps = 1;
  std::vector<std::int64_t> index;
  std::vector<double> weight;
  std::vector<char> outside;
  bool any_outside = false;

  bool identity() const {
    if (in != out || any_outside) return false;
    for (std::int64_t j = 0; j < out; ++j) {
      for (std::int64_t t = 0; t < taps; ++t) {
        const auto k = static_cast<std::size_t>(j * taps + t);
        if (weight[k] != 0.0 && (index[k] != j || weight[k] != 1.0)) return false;
      }
    }
    return true;
  }
};

// The cubic convolution kernel (Keys, with coefficient a) at distance d >= 0.
inline double cubic_weight(double d, double a) {
  if (d <= 1.0) return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
  if (d < 2.0) return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
  return 0.0;
}

// The plan for an axis of extent `in` resized to `out`. `scale` is the
// output/input ratio the coordinates use; when it is exactly out/in (sizes
// given), positions are computed from out and in themselves so that exact
// sample positions stay exact. roi_start/roi_end: tf_crop_and_resize's
// normalised crop of this axis.
inline ResizeAxis resize_axis(const ResizeOptions& o, std::int64_t in, std::int64_t out, double scale, bool ratio_is_sizes,
                              double roi_start, double roi_end) {
  ResizeAxis plan;
  plan.in = in;
  plan.out = out;
  plan.taps = o.mode == "nearest" ? 1 : o.mode == "linear" ? 2 : 4;
  const auto total = static_cast<std::size_t>(out * plan.taps);
  plan.index.assign(total, 0);
  plan.weight.assign(total, 0.0);
  plan.outside.assign(static_cast<std::size_t>(out), 0);
  const auto din = static_cast<double>(in), dout = static_cast<double>(out);
  auto unscale = [&](double v) { return ratio_is_sizes ? v * din / dout : v / scale; };
  auto clamp_index = [in](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, in - 1); };
  for (std::int64_t j = 0; j < out; ++j) {
    const auto dj = static_cast<double>(j);
    double x;
    if (o.transform == "half_pixel") {
      x = unscale(dj + 0.5) - 0.5;
    } else if (o.transform == "pytorch_half_pixel") {
      x = out > 1 ? unscale(dj + 0.5) - 0.5 : 0.0;
    } else if (o.transform == "align_corners") {
      x = out == 1 ? 0.0 : dj * (din - 1.0) / (dout - 1.0);
    } else if (o.transform == "asymmetric") {
      x = unscale(dj);
    } else if (o.transform == "tf_half_pixel_for_nn") {
      x = unscale(dj + 0.5);
    } else {  // tf_crop_and_resize
      x = out > 1 ? roi_start * (din - 1.0) + dj * (roi_end - roi_start) * (din - 1.0) / (dout - 1.0)
                  : 0.5 * (roi_start + roi_end) * (din - 1.0);
      if (x < 0.0 || x > din - 1.0) {
        plan.outside[static_cast<std::size_t>(j)] = 1;
        plan.any_outside = true;
        plan.weight[static_cast<std::size_t>(j * plan.taps)] = 1.0;  // any in-range index; overwritten
        continue;
      }
    }
    double* w = plan.weight.data() + j * plan.taps;
    std::int64_t* idx = plan.index.data() + j * plan.taps;
    if (o.mode == "nearest") {
      const double below = std::floor(x);
      const bool half = x - below == 0.5;
      double pick;
      if (o.nearest_mode == "floor") {
        pick = below;
      } else if (o.nearest_mode == "ceil") {
        pick = std::ceil(x);
      } else if (o.nearest_mode == "round_prefer_ceil") {
        pick = half ? below + 1.0 : std::round(x);
      } else {  // round_prefer_floor
        pick = half ? below : std::round(x);
      }
      idx[0] = clamp_index(static_cast<std::int64_t>(pick));
      w[0] = 1.0;
      continue;
    }
    if (o.mode == "linear") {
      const double xc = std::clamp(x, 0.0, din - 1.0);  // the edge value beyond the ends
      const auto lo = static_cast<std::int64_t>(std::floor(xc));
      const double frac = xc - static_cast<double>(lo);
      idx[0] = lo;
      idx[1] = clamp_index(lo + 1);
      w[0] = 1.0 - frac;
      w[1] = frac;
      continue;
    }
    const double below = std::floor(x), frac = x - below;
    const auto lo = static_cast<std::int64_t>(below);
    double sum = 0.0;
    for (std::int64_t t = 0; t < 4; ++t) {
      const std::int64_t at = lo - 1 + t;
      w[t] = cubic_weight(std::abs(frac - static_cast<double>(t - 1)), o.cubic_a);
      if (o.exclude_outside && (at < 0 || at >= in)) w[t] = 0.0;
      idx[t] = clamp_index(at);
      sum += w[t];
    }
    if (o.exclude_outside && sum != 0.0) {
      for (std::int64_t t = 0; t < 4; ++t) w[t] /= sum;
    }
  }
  return plan;
}

// x resampled along `axis` by `plan`: nearest copies (any dtype), the other
// modes take weighted sums in T.
template <class T>
Tensor<T> resample_axis(const Tensor<T>& x, std::size_t axis, const ResizeAxis& plan, bool weighted) {
  Shape shape = x.shape();
  const std::int64_t outer = extent_product(shape, 0, axis), inner = extent_product(shape, axis + 1, shape.size());
  shape[axis] = plan.out;
  Tensor<T> y = Tensor<T>::empty(shape);
  const T* src = x.data();
  T* dst = y.data();
  const std::int64_t in = plan.in, out = plan.out, taps = plan.taps;
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, out * inner));
  kernels::parallel_for(0, outer, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* s = src + o * in * inner;
      for (std::int64_t j = 0; j < out; ++j) {
        T* d = dst + (o * out + j) * inner;
        const std::int64_t* idx = plan.index.data() + j * taps;
        const double* w = plan.weight.data() + j * taps;
        if (!weighted) {
          std::copy(s + idx[0] * inner, s + (idx[0] + 1) * inner, d);
          continue;
        }
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          std::fill(d, d + inner, T(0));
          for (std::int64_t t = 0; t < taps; ++t) {
            if (w[t] == 0.0) continue;
            const T wt = static_cast<T>(w[t]);
            const T* row = s + idx[t] * inner;
            for (std::int64_t k = 0; k < inner; ++k) d[k] += wt * row[k];
          }
        }
      }
    }
  });
  return y;
}

}  // namespace detect_impl

// Resize(X, roi, scales, sizes): opset 10 takes (X, scales) and behaves as
// asymmetric coordinates with floor for nearest (ONNX's 10 -> 11 adapter);
// from 11 the output extents are sizes, or floor(extent * scale) (in float,
// as ONNX Runtime and torch's exports round) when scales are given, and
// coordinate_transformation_mode maps output to input positions. Modes
// nearest (with nearest_mode), linear (N-linear over the resized axes: edge
// values beyond the ends) and cubic (cubic_coeff_a, exclude_outside); linear
// and cubic need float tensors. Opset 18's axes and keep_aspect_ratio_policy
// are read; antialias is not supported.
inline std::unique_ptr<OpKernel> make_Resize(const Node& node, const KernelContext& ctx) {
  const std::int64_t opset = ctx.opset;
  detail::require_inputs(node, opset < 11 ? 2 : 1, opset < 11 ? 2 : 4);
  detect_impl::ResizeOptions o;
  o.mode = node.attr_string("mode", "nearest");
  o.transform = opset < 11 ? std::string("asymmetric") : node.attr_string("coordinate_transformation_mode", "half_pixel");
  o.nearest_mode = opset < 11 ? std::string("floor") : node.attr_string("nearest_mode", "round_prefer_floor");
  o.cubic_a = node.attr_float("cubic_coeff_a", -0.75);
  o.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  o.extrapolation = node.attr_float("extrapolation_value", 0.0);
  const std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
  const std::vector<std::int64_t> attr_axes = node.attr_ints("axes");
  const std::string what = node.describe();
  auto check = [&what](bool ok, const std::string& key, const std::string& value, const char* allowed) {
    if (!ok) throw ValueError(what + ": unsupported " + key + " '" + value + "' (" + allowed + ")");
  };
  check(o.mode == "nearest" || o.mode == "linear" || o.mode == "cubic", "mode", o.mode, "nearest, linear, cubic");
  check(o.transform == "half_pixel" || o.transform == "pytorch_half_pixel" || o.transform == "align_corners" ||
            o.transform == "asymmetric" || o.transform == "tf_half_pixel_for_nn" || o.transform == "tf_crop_and_resize",
        "coordinate_transformation_mode", o.transform,
        "half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize");
  check(o.nearest_mode == "round_prefer_floor" || o.nearest_mode == "round_prefer_ceil" || o.nearest_mode == "floor" ||
            o.nearest_mode == "ceil",
        "nearest_mode", o.nearest_mode, "round_prefer_floor, round_prefer_ceil, floor, ceil");
  check(policy == "stretch" || policy == "not_larger" || policy == "not_smaller", "keep_aspect_ratio_policy", policy,
        "stretch, not_larger, not_smaller");
  if (node.attr_int("antialias", 0) != 0) throw ValueError(what + ": antialias=1 is not supported");
  return detail::kernel([=](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::size_t rank = in[0].shape().size();
    const Shape& xs = in[0].shape();
    std::vector<std::size_t> axes;
    if (attr_axes.empty()) {
      for (std::size_t d = 0; d < rank; ++d) axes.push_back(d);
    } else {
      for (std::int64_t a : attr_axes) axes.push_back(impl::axis_in(a, rank, what));
    }
    const std::size_t k_scales = opset < 11 ? 1 : 2;
    std::vector<double> scales = detect_impl::given(in, k_scales) ? detect_impl::float_list(in[k_scales], what + " scales") : std::vector<double>{};
    const std::vector<std::int64_t> sizes = opset >= 11 && detect_impl::given(in, 3) ? detail::int_list(in[3], what + " sizes") : std::vector<std::int64_t>{};
    if (scales.empty() == sizes.empty()) {
      throw ValueError(nabla::detail::message(what, ": exactly one of scales and sizes must be given (got ", scales.size(),
                                              " scales and ", sizes.size(), " sizes)"));
    }
    const std::size_t given_count = scales.empty() ? sizes.size() : scales.size();
    if (given_count != axes.size()) {
      throw ShapeError(nabla::detail::message(what, ": ", given_count, scales.empty() ? " sizes" : " scales", " for ",
                                              axes.size(), " axes of X of shape ", to_string(xs)));
    }
    std::vector<double> roi;
    if (o.transform == "tf_crop_and_resize") {
      if (detect_impl::given(in, 1)) roi = detect_impl::float_list(in[1], what + " roi");
      if (roi.size() != 2 * axes.size()) {
        throw ShapeError(nabla::detail::message(what, ": tf_crop_and_resize needs a roi of ", 2 * axes.size(), " values, got ",
                                                roi.size()));
      }
    }
    // Per resized axis: output extent, the coordinates' scale, and whether it is out/in.
    std::vector<std::int64_t> out_extent(axes.size());
    std::vector<double> axis_scale(axes.size());
    std::vector<char> ratio_is_sizes(axes.size(), 0);
    if (!scales.empty()) {
      for (std::size_t i = 0; i < axes.size(); ++i) {
        if (!(scales[i] > 0.0)) {
          throw ValueError(nabla::detail::message(what, ": scales must be positive, got ", scales[i], " for axis ", axes[i]));
        }
        const float crop = roi.empty() ? 1.0f : static_cast<float>(roi[i + axes.size()] - roi[i]);
        out_extent[i] = static_cast<std::int64_t>(std::floor(static_cast<float>(xs[axes[i]]) * crop * static_cast<float>(scales[i])));
        axis_scale[i] = scales[i];
      }
    } else {
      for (std::size_t i = 0; i < axes.size(); ++i) {
        if (sizes[i] < 0) throw ValueError(nabla::detail::message(what, ": sizes must not be negative, got ", sizes[i]));
      }
      if (policy == "stretch") {
        for (std::size_t i = 0; i < axes.size(); ++i) {
          out_extent[i] = sizes[i];
          ratio_is_sizes[i] = xs[axes[i]] > 0 && sizes[i] > 0;
          axis_scale[i] = xs[axes[i]] > 0 ? static_cast<double>(sizes[i]) / static_cast<double>(xs[axes[i]]) : 1.0;
        }
      } else {  // one scale for every axis, the smallest (not_larger) or largest (not_smaller)
        double common = 0.0;
        for (std::size_t i = 0; i < axes.size(); ++i) {
          const double s = static_cast<double>(sizes[i]) / static_cast<double>(std::max<std::int64_t>(xs[axes[i]], 1));
          common = i == 0 ? s : policy == "not_larger" ? std::min(common, s) : std::max(common, s);
        }
        for (std::size_t i = 0; i < axes.size(); ++i) {
          out_extent[i] = static_cast<std::int64_t>(std::floor(common * static_cast<double>(xs[axes[i]]) + 0.5));
          axis_scale[i] = common;
        }
      }
    }
    std::vector<detect_impl::ResizeAxis> plans;
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const std::int64_t n = xs[axes[i]];
      if (n == 0 && out_extent[i] > 0) {
        throw ShapeError(nabla::detail::message(what, ": cannot resize the empty axis ", axes[i], " of shape ", to_string(xs),
                                                " to ", out_extent[i]));
      }
      plans.push_back(detect_impl::resize_axis(o, n, out_extent[i], axis_scale[i], ratio_is_sizes[i] != 0,
                                        roi.empty() ? 0.0 : roi[i], roi.empty() ? 1.0 : roi[i + axes.size()]));
    }
    const bool weighted = o.mode != "nearest";
    if (weighted && in[0].dtype() != DType::float32 && in[0].dtype() != DType::float64) {
      throw ValueError(nabla::detail::message(what, ": ", o.mode, " resizing needs a float32 or float64 tensor, got ",
                                              dtype_name(in[0].dtype())));
    }
    out[0] = in[0].visit([&](const auto& x_in) -> Value {
      using T = typename std::decay_t<decltype(x_in)>::value_type;
      Tensor<T> y = x_in.contiguous();
      // Innermost axis first, as torch's bilinear kernels blend.
      for (std::size_t i = axes.size(); i-- > 0;) {
        if (plans[i].identity()) continue;
        y = detect_impl::resample_axis(y, axes[i], plans[i], weighted);
      }
      if (o.transform == "tf_crop_and_resize") {
        bool any = false;
        for (const auto& p : plans) any = any || p.any_outside;
        if (any) {
          const Shape& ys = y.shape();
          std::vector<const detect_impl::ResizeAxis*> plan_of(rank, nullptr);
          for (std::size_t i = 0; i < axes.size(); ++i) plan_of[axes[i]] = &plans[i];
          std::vector<std::int64_t> pos(rank, 0);
          for (std::int64_t flat = 0; flat < y.numel(); ++flat) {
            bool outside = false;
            for (std::size_t d = 0; d < rank && !outside; ++d) {
              outside = plan_of[d] != nullptr && plan_of[d]->outside[static_cast<std::size_t>(pos[d])] != 0;
            }
            if (outside) y.data()[flat] = static_cast<T>(o.extrapolation);
            for (std::size_t d = rank; d-- > 0;) {
              if (++pos[d] < ys[d]) break;
              pos[d] = 0;
            }
          }
        }
      }
      return y;
    });
  });
}

// GatherND(data, indices, batch_dims): indices [..., k] pick slices
// data[b..., i_1, ..., i_k] (negative indices count from the end); the
// output is indices.shape[:-1] + data.shape[batch_dims + k:].
inline std::unique_ptr<OpKernel> make_GatherND(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 2, 2);
  const std::int64_t batch_dims = node.attr_int("batch_dims", 0);
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> idx = detail::int_list(in[1], what + " indices");
    const Shape is = in[1].shape();
    out[0] = in[0].visit([&](const auto& data_in) -> Value {
      using T = typename std::decay_t<decltype(data_in)>::value_type;
      const Shape& ds = data_in.shape();
      const auto b = static_cast<std::size_t>(std::max<std::int64_t>(batch_dims, 0));
      const std::int64_t k = is.empty() ? 0 : is.back();
      bool ok = batch_dims >= 0 && !is.empty() && !ds.empty() && b < std::min(is.size(), ds.size()) && k >= 1 &&
                k <= static_cast<std::int64_t>(ds.size() - b);
      for (std::size_t d = 0; ok && d < b; ++d) ok = is[d] == ds[d];
      if (!ok) {
        throw ShapeError(nabla::detail::message(what, ": data ", to_string(ds), " and indices ", to_string(is),
                                                " do not fit batch_dims ", batch_dims));
      }
      const auto kk = static_cast<std::size_t>(k);
      Shape shape;
      for (std::size_t d = 0; d + 1 < is.size(); ++d) shape.push_back(is[d]);
      for (std::size_t d = b + kk; d < ds.size(); ++d) shape.push_back(ds[d]);
      const Tensor<T> data = data_in.contiguous();
      Tensor<T> y = Tensor<T>::empty(shape);
      const std::int64_t slice = detect_impl::extent_product(ds, b + kk, ds.size());
      const std::int64_t batches = detect_impl::extent_product(is, 0, b);
      const std::int64_t per_batch = detect_impl::extent_product(is, b, is.size() - 1);
      const std::int64_t batch_stride = detect_impl::extent_product(ds, b, ds.size());
      for (std::int64_t bi = 0; bi < batches; ++bi) {
        for (std::int64_t t = 0; t < per_batch; ++t) {
          const std::int64_t* tuple = idx.data() + (bi * per_batch + t) * k;
          std::int64_t offset = 0;
          for (std::size_t d = 0; d < kk; ++d) offset = offset * ds[b + d] + detect_impl::index_in(tuple[d], ds[b + d], b + d, ds, what);
          const T* src = data.data() + bi * batch_stride + offset * slice;
          std::copy(src, src + slice, y.data() + (bi * per_batch + t) * slice);
        }
      }
      return y;
    });
  });
}

// ScatterElements(data, indices, updates, axis): a copy of data with
// out[..., indices[p], ...] (at axis) set from updates[p] (reduction "none",
// the last write winning), or combined: "add", "mul" (opset 16), "max",
// "min" (opset 18). Negative indices count from the end.
inline std::unique_ptr<OpKernel> make_ScatterElements(const Node& node, const KernelContext&) {
  detail::require_inputs(node, 3, 3);
  const std::int64_t axis = node.attr_int("axis", 0);
  const std::string reduction = node.attr_string("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min") {
    throw ValueError(node.describe() + ": unsupported reduction '" + reduction + "' (none, add, mul, max, min)");
  }
  return detail::kernel([=, what = node.describe()](const std::vector<Value>& in, std::vector<Value>& out) {
    const std::vector<std::int64_t> idx = detail::int_list(in[1], what + " indices");
    const Shape is = in[1].shape();
    out[0] = in[0].visit([&](const auto& data_in) -> Value {
      using T = typename std::decay_t<decltype(data_in)>::value_type;
      const Tensor<T>& updates_in = in[2].as<T>(what, "updates");
      const Shape& ds = data_in.shape();
      const std::size_t a = impl::axis_in(axis, ds.size(), what);
      bool ok = is.size() == ds.size() && updates_in.shape() == is;
      for (std::size_t d = 0; ok && d < ds.size(); ++d) ok = d == a || is[d] <= ds[d];
      if (!ok) {
        throw ShapeError(nabla::detail::message(what, ": data ", to_string(ds), ", indices ", to_string(is), " and updates ",
                                                to_string(updates_in.shape()), " do not fit axis ", a));
      }
      if constexpr (std::is_same_v<T, bool>) {
        if (reduction != "none") throw ValueError(what + ": reduction '" + reduction + "' on a bool tensor");
      }
      Tensor<T> y = data_in.clone();
      const Tensor<T> updates = updates_in.contiguous();
      const Shape strides = contiguous_strides(ds);
      std::vector<std::int64_t> pos(is.size(), 0);
      for (std::int64_t flat = 0; flat < updates.numel(); ++flat) {
        std::int64_t offset = 0;
        for (std::size_t d = 0; d < ds.size(); ++d) {
          const std::int64_t i = d == a ? detect_impl::index_in(idx[static_cast<std::size_t>(flat)], ds[a], a, ds, what) : pos[d];
          offset += i * strides[d];
        }
        T& r = y.data()[offset];
        const T u = updates.data()[flat];
        if constexpr (std::is_same_v<T, bool>) {
          r = u;
        } else {
          r = reduction == "add"   ? static_cast<T>(r + u)
              : reduction == "mul" ? static_cast<T>(r * u)
              : reduction == "max" ? std::max(r, u)
              : reduction == "min" ? std::min(r, u)
                                   : u;
        }
        for (std::size_t d = is.size(); d-- > 0;) {
          if (++pos[d] < is[d]) break;
          pos[d] = 0;
        }
      }
      return y;
    });
  });
}

// ReduceProd: ReduceSum's machinery (axes an attribute, an input from opset
// 18); the product keeps the input's type, as ONNX says.
inline std::unique_ptr<OpKernel> make_ReduceProd(const Node& node, const KernelContext& ctx) {
  return impl::reduce_kernel(node, ctx, ctx.opset >= 18, [](const auto& x, const Shape& axes, bool keep) -> Value {
    using T = typename std::decay_t<decltype(x)>::value_type;
    return prod(x, axes, keep).template to<T>();
  });
}

}  // namespace nabla::graph::ops

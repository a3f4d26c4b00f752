// Runtime kernels for the ops nabla's graph passes make (domain "nabla",
// graph/passes.hpp): FusedConv and FusedGemm, a Conv or Gemm whose fresh
// output then gets an optional residual add and an optional activation in
// one pass, with the float operations of the unfused graph, so the results
// are bit-identical to it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nabla/graph/kernel.hpp"
#include "nabla/graph/ops_math.hpp"
#include "nabla/graph/ops_nn.hpp"
#include "nabla/kernels/elementwise.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/kernels/simd.hpp"
#include "nabla/ops/elementwise.hpp"

namespace nabla::graph::ops {
namespace impl {

// The activations an epilogue may end with: the `activation` attribute's
// values and how many `activation_params` each takes.
enum class FusedActivation : std::uint8_t { none, relu, clip, leaky_relu, sigmoid, hard_sigmoid, hard_swish, tanh, silu };

struct FusedActivationName {
  const char* name;
  FusedActivation kind;
  std::size_t params;
};
inline constexpr FusedActivationName fused_activation_names[] = {
    {"Relu", FusedActivation::relu, 0},           {"Clip", FusedActivation::clip, 2},  // min, max
    {"LeakyRelu", FusedActivation::leaky_relu, 1},                                     // alpha
    {"Sigmoid", FusedActivation::sigmoid, 0},     {"HardSigmoid", FusedActivation::hard_sigmoid, 2},  // alpha, beta
    {"HardSwish", FusedActivation::hard_swish, 0}, {"Tanh", FusedActivation::tanh, 0},
    {"SiLU", FusedActivation::silu, 0},  // x * Sigmoid(x)
};

// What follows the Conv/Gemm: input 3 (Z) added when present, then the
// activation.
struct Epilogue {
  FusedActivation activation = FusedActivation::none;
  std::vector<double> params;
  bool residual = false;

  static Epilogue from(const Node& node) {
    Epilogue e;
    e.residual = node.inputs.size() > 3 && !node.inputs[3].empty();
    e.params = node.attr_floats("activation_params");
    std::size_t expected = 0;
    if (node.has("activation")) {
      const std::string name = node.attr_string("activation", "");
      const auto* it = std::find_if(std::begin(fused_activation_names), std::end(fused_activation_names),
                                    [&](const FusedActivationName& a) { return name == a.name; });
      if (it == std::end(fused_activation_names)) {
        throw ValueError(nabla::detail::message(node.describe(), ": unknown activation '", name,
                                                "' (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh or SiLU)"));
      }
      e.activation = it->kind;
      expected = it->params;
    }
    if (e.params.size() != expected) {
      throw ValueError(nabla::detail::message(node.describe(), ": activation '", node.attr_string("activation", ""),
                                              "' takes ", expected, " activation_params, got ", e.params.size()));
    }
    if (e.activation == FusedActivation::clip && e.params[0] > e.params[1]) {
      throw ValueError(nabla::detail::message(node.describe(), ": Clip bounds min ", e.params[0], " > max ", e.params[1]));
    }
    return e;
  }
};

// Elements of the output handled together: every stage of the epilogue runs
// over one tile while it is in L1, so memory sees a single pass. Each stage
// is the functor and driver the unfused op's kernel uses (ops/elementwise.hpp
// maps contiguous tensors with kernels::map_*), kept as separate loops so no
// compiler contracts one op's multiply into the next op's add (HardSigmoid's
// alpha * x + beta is two roundings unfused).
inline constexpr std::int64_t epilogue_tile = 512;

template <class T>
void epilogue_tile_run(T* y, const T* z, std::int64_t m, const Epilogue& e, T* scratch) {
  using kernels::map_binary;
  using kernels::map_binary_vs;
  using kernels::map_unary;
  if (z) map_binary(y, z, y, m, kernels::AddOp{});
  switch (e.activation) {
    case FusedActivation::none: break;
    case FusedActivation::relu: map_unary(y, y, m, kernels::ReluOp{}); break;
    case FusedActivation::clip: {
      // As Clip's kernel: a bound beyond T's range (or absent: +-inf) is T's limit.
      const T lo = e.params[0] > static_cast<double>(std::numeric_limits<T>::lowest()) ? static_cast<T>(e.params[0])
                                                                                         : std::numeric_limits<T>::lowest();
      const T hi = e.params[1] < static_cast<double>(std::numeric_limits<T>::max()) ? static_cast<T>(e.params[1])
                                                                                      : std::numeric_limits<T>::max();
      map_unary(y, y, m, kernels::ClampOp<T>{lo, hi});
      break;
    }
    case FusedActivation::leaky_relu: map_unary(y, y, m, kernels::LeakyReluOp<T>{static_cast<T>(e.params[0])}); break;
    case FusedActivation::sigmoid: map_unary(y, y, m, kernels::SigmoidOp{}); break;
    case FusedActivation::tanh: map_unary(y, y, m, kernels::TanhOp{}); break;
    case FusedActivation::hard_sigmoid:  // clamp(x * alpha + beta, 0, 1)
      map_binary_vs(y, static_cast<T>(e.params[0]), y, m, kernels::MulOp{});
      map_binary_vs(y, static_cast<T>(e.params[1]), y, m, kernels::AddOp{});
      map_unary(y, y, m, kernels::ClampOp<T>{T(0), T(1)});
      break;
    case FusedActivation::hard_swish:  // x * (clamp(x + 3, 0, 6) / 6)
      map_binary_vs(y, T(3), scratch, m, kernels::AddOp{});
      map_unary(scratch, scratch, m, kernels::ClampOp<T>{T(0), T(6)});
      map_binary_vs(scratch, T(6), scratch, m, kernels::DivOp{});
      map_binary(y, scratch, y, m, kernels::MulOp{});
      break;
    case FusedActivation::silu:  // x * sigmoid(x)
      map_unary(y, scratch, m, kernels::SigmoidOp{});
      map_binary(y, scratch, y, m, kernels::MulOp{});
      break;
  }
}

// The epilogue on y, the Conv/Gemm output: a fresh tensor no one else holds,
// so it is updated in place. `z_value` is the residual (null when none).
template <class T>
Tensor<T> apply_epilogue(Tensor<T> y, const Value* z_value, const Epilogue& e, const std::string& what) {
  Tensor<T> z;
  if (z_value) {
    z = z_value->as<T>(what, "residual Z");
    if (!(z.shape() == y.shape())) {
      // The pass fuses when it cannot see both shapes; a residual that
      // broadcasts is added as Add would (a fresh, larger tensor), then the
      // activation runs on that.
      y = add(y, z);
      z = Tensor<T>();
    } else {
      z = z.contiguous();
    }
  }
  y = y.contiguous();
  const std::int64_t n = y.numel();
  T* yp = y.data();
  const T* zp = z.defined() ? z.data() : nullptr;
  kernels::parallel_for(0, n, kernels::elementwise_grain, [&](std::int64_t lo, std::int64_t hi) {
    alignas(64) T scratch[epilogue_tile];
    for (std::int64_t i = lo; i < hi; i += epilogue_tile) {
      epilogue_tile_run(yp + i, zp ? zp + i : nullptr, std::min(epilogue_tile, hi - i), e, scratch);
    }
  });
  y.bump_version();
  return y;
}

// Runs `main` (the Conv or Gemm kernel, which reads inputs 0 to 2 and
// ignores Z) and then the epilogue.
inline std::unique_ptr<OpKernel> fused_kernel(std::shared_ptr<const OpKernel> main, Epilogue e, std::string what) {
  return detail::kernel([main = std::move(main), e = std::move(e), what = std::move(what)](const std::vector<Value>& in,
                                                                                           std::vector<Value>& out) {
    main->run(in, out);
    const Value* z = e.residual ? &in[3] : nullptr;
    out[0] = detail::visit_floating(out[0], what, [&](const auto& y) -> Value { return apply_epilogue(y, z, e, what); });
  });
}

// The node with only the Conv's/Gemm's own inputs (X, W, B), for its builder.
inline Node fused_main_node(const Node& node) {
  Node main = node;
  if (main.inputs.size() > 3) main.inputs.resize(3);
  return main;
}

}  // namespace impl

// FusedConv(X, W, B, Z): Conv's attributes, then Z added, then `activation`.
inline std::unique_ptr<OpKernel> make_FusedConv(const Node& node, const KernelContext& ctx) {
  detail::require_inputs(node, 2, 4);
  impl::Epilogue e = impl::Epilogue::from(node);
  return impl::fused_kernel(make_Conv(impl::fused_main_node(node), ctx), std::move(e), node.describe());
}

// FusedGemm(A, B, C, Z): Gemm's attributes, then Z added, then `activation`.
inline std::unique_ptr<OpKernel> make_FusedGemm(const Node& node, const KernelContext& ctx) {
  detail::require_inputs(node, 2, 4);
  impl::Epilogue e = impl::Epilogue::from(node);
  return impl::fused_kernel(make_Gemm(impl::fused_main_node(node), ctx), std::move(e), node.describe());
}

}  // namespace nabla::graph::ops

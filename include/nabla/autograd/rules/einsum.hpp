// Differentiable einsum on Var<T>: the gradient of each operand is itself an
// einsum of the output gradient with the other operands.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/ops/einsum.hpp"

namespace nabla {
namespace detail {

// dL/dx_k: einsum(gy, x_j for j != k -> the distinct live labels of x_k).
// Labels of x_k found nowhere else were summed in the forward pass, so their
// gradient is broadcast back (expand); a repeated label gets its gradient on
// the diagonal only; an axis broadcast from extent 1 sums (einsum does).
template <class T>
Tensor<T> einsum_operand_grad(const EinsumPlan& plan, std::size_t k, const Tensor<T>& gy,
                              const std::vector<Tensor<T>>& values) {
  const Tensor<T>& x = values[k];
  const std::vector<int>& lk = plan.inputs[k];
  std::vector<Tensor<T>> ops{gy};
  std::vector<std::vector<int>> labels{plan.output};
  for (std::size_t j = 0; j < values.size(); ++j) {
    if (j == k) continue;
    ops.push_back(values[j]);
    labels.push_back(plan.inputs[j]);
  }
  auto available = [&](int l) {
    if (einsum_has(plan.output, l)) return true;
    for (std::size_t j = 0; j < values.size(); ++j) {
      if (j == k) continue;
      for (std::size_t d = 0; d < plan.inputs[j].size(); ++d) {
        if (plan.inputs[j][d] == l && einsum_live(values[j].shape()[d], l, plan.extents)) return true;
      }
    }
    return false;
  };
  // x_k's distinct live labels, and which of them the gradient einsum yields.
  std::vector<int> distinct;
  std::vector<int> produced;
  bool repeated = false;
  for (std::size_t d = 0; d < lk.size(); ++d) {
    if (!einsum_live(x.shape()[d], lk[d], plan.extents)) continue;
    if (einsum_has(distinct, lk[d])) {
      repeated = true;
      continue;
    }
    distinct.push_back(lk[d]);
    if (available(lk[d])) produced.push_back(lk[d]);
  }
  Tensor<T> g = einsum_run(ops, labels, produced, plan.extents);
  Shape full;
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    full.push_back(plan.extents[static_cast<std::size_t>(distinct[i])]);
    if (!einsum_has(produced, distinct[i])) g = g.unsqueeze(static_cast<std::int64_t>(i));
  }
  g = g.expand(full);
  if (!repeated) return g.reshape(x.shape());  // broadcast axes come back as extent 1
  // Zeros off the diagonal: write g through the same strided view einsum read.
  Tensor<T> out(x.shape());
  std::vector<int> order;
  einsum_distinct(out, lk, plan.extents, order).copy_(g);
  return out;
}

}  // namespace detail

// Differentiable torch.einsum (see the Tensor overload for the equation rules).
template <class T>
Var<T> einsum(std::string_view equation, const std::vector<Var<T>>& operands) {
  std::vector<Tensor<T>> values;
  std::vector<Shape> shapes;
  for (const auto& x : operands) {
    values.push_back(x.value());
    shapes.push_back(x.shape());
  }
  auto plan = std::make_shared<detail::EinsumPlan>(detail::einsum_parse(equation, shapes));
  Tensor<T> out = detail::einsum_run(values, plan->inputs, plan->output, plan->extents);
  return detail::record_many(OpKind::einsum, std::move(out),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const auto& p = *static_cast<const detail::EinsumPlan*>(e.extra.get());
        std::vector<Tensor<T>> xs;
        for (std::size_t k = 0; k < e.size(); ++k) xs.push_back(e.input(k));
        for (std::size_t k = 0; k < e.size(); ++k) {
          if (e.needs_grad(k)) e.accumulate(k, detail::einsum_operand_grad(p, k, gy, xs));
        }
      }, [plan](TapeEntry<T>& e) {
        e.extra = plan;
        e.uses = static_cast<std::uint8_t>((1U << std::min<std::size_t>(e.size(), TapeEntry<T>::inline_inputs)) - 1);
      }, operands);
}

template <class T, class... Rest>
  requires(std::is_same_v<Rest, Var<T>> && ...)
Var<T> einsum(std::string_view equation, const Var<T>& first, const Rest&... rest) {
  return einsum(equation, std::vector<Var<T>>{first, rest...});
}

}  // namespace nabla

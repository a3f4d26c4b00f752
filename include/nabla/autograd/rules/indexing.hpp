// x.index({...}) on Var<T>: Python-style indexing with gradients. The
// gradient of what an index read is added back where it was read, so
// repeated indices accumulate (as PyTorch's index backward does).
#pragma once

#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "nabla/autograd/var.hpp"
#include "nabla/ops/indexing.hpp"

namespace nabla {

// dx = index_put_(zeros_like(x), items, gy, accumulate = true).
template <class T>
Var<T> index(const Var<T>& x, std::span<const TensorIndex> items) {
  auto kept = std::make_shared<std::vector<TensorIndex>>(items.begin(), items.end());
  return detail::record(OpKind::index, index(x.value(), items),
      +[](TapeEntry<T>& e, const Tensor<T>& gy) {
        const auto& saved = *static_cast<const std::vector<TensorIndex>*>(e.extra.get());
        Tensor<T> gx(e.input(0).shape());
        index_put_(gx, std::span<const TensorIndex>(saved.data(), saved.size()), gy, true);
        e.accumulate(0, std::move(gx));
      }, [&kept](TapeEntry<T>& e) { e.extra = kept; }, x);
}
template <class T>
Var<T> index(const Var<T>& x, std::initializer_list<TensorIndex> items) {
  return index(x, std::span<const TensorIndex>(items.begin(), items.size()));
}
template <class T>
Var<T> index(const Var<T>& x, const std::vector<TensorIndex>& items) {
  return index(x, std::span<const TensorIndex>(items.data(), items.size()));
}

}  // namespace nabla

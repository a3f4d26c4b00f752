// einsum on tensors (torch.einsum semantics): explicit and implicit outputs,
// "..." broadcasting, diagonals and traces from repeated indices, and
// contractions run pairwise as batched matrix products on the GEMM.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/ops/linalg.hpp"
#include "nabla/ops/reduce.hpp"

namespace nabla {
namespace detail {

// Index labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (ASCII order, which is
// the order of an implicit output, as in torch); the axes an ellipsis stands
// for are 52, 53, ..., aligned from the right across operands.
inline constexpr int einsum_letters = 52;

// A parsed equation, resolved against the operands' shapes.
struct EinsumPlan {
  std::vector<std::vector<int>> inputs;  // one label per axis of each operand
  std::vector<int> output;               // one label per axis of the result
  std::vector<std::int64_t> extents;     // per label, after broadcasting (-1: unused)
};

inline std::string einsum_label_text(int label) {
  if (label < 26) return std::string(1, static_cast<char>('A' + label));
  if (label < einsum_letters) return std::string(1, static_cast<char>('a' + (label - 26)));
  return "... (axis " + std::to_string(label - einsum_letters) + ")";
}

inline int einsum_label_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

// One side of a term: its letters' labels and where "..." stood (-1: none).
struct EinsumTerm {
  std::vector<int> letters;
  int ellipsis = -1;
};

// Parses one comma-separated term (spaces already removed); `where` is the
// term's offset in the compact equation, for messages.
inline EinsumTerm einsum_term(std::string_view term, std::string_view equation, std::size_t where) {
  EinsumTerm out;
  for (std::size_t i = 0; i < term.size(); ++i) {
    const char c = term[i];
    if (c == '.') {
      if (term.substr(i, 3) != "..." || out.ellipsis >= 0) {
        throw ValueError(message("einsum: invalid ellipsis in equation \"", equation,
                                 "\"; each term may hold one '...' of exactly three dots"));
      }
      out.ellipsis = static_cast<int>(out.letters.size());
      i += 2;
      continue;
    }
    const int label = einsum_label_of(c);
    if (label < 0) {
      throw ValueError(message("einsum: invalid character '", c, "' at position ", where + i, " of equation \"",
                               equation, "\"; subscripts must be letters a-z, A-Z or '...'"));
    }
    out.letters.push_back(label);
  }
  return out;
}

// Records extent x for label l seen on operand k (1 broadcasts, as torch).
inline void einsum_extent(EinsumPlan& plan, std::vector<int>& owner, int label, std::int64_t x, std::size_t k,
                          const std::vector<Shape>& shapes) {
  std::int64_t& have = plan.extents[static_cast<std::size_t>(label)];
  int& from = owner[static_cast<std::size_t>(label)];
  if (have < 0 || have == 1) {
    if (have < 0 || x != 1) from = static_cast<int>(k);
    if (have < 0 || x != 1) have = x;
    return;
  }
  if (x != 1 && x != have) {
    const auto j = static_cast<std::size_t>(from);
    throw ShapeError(message("einsum: index ", einsum_label_text(label), " has extent ", have, " in operand ", j,
                             " (shape ", to_string(shapes[j]), ") but ", x, " in operand ", k, " (shape ",
                             to_string(shapes[k]), ")"));
  }
}

// Parses `equation` for operands of the given shapes and checks it.
inline EinsumPlan einsum_parse(std::string_view equation, const std::vector<Shape>& shapes) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq.push_back(c);
  }
  const std::size_t arrow = eq.find("->");
  const std::string_view lhs = std::string_view(eq).substr(0, arrow);
  const bool explicit_output = arrow != std::string::npos;
  const std::string_view rhs = explicit_output ? std::string_view(eq).substr(arrow + 2) : std::string_view();
  std::vector<EinsumTerm> terms;
  for (std::size_t start = 0;;) {
    const std::size_t comma = lhs.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? lhs.size() : comma;
    terms.push_back(einsum_term(lhs.substr(start, end - start), eq, start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (terms.size() != shapes.size()) {
    throw ValueError(message("einsum: equation \"", eq, "\" names ", terms.size(), " operand",
                             terms.size() == 1 ? "" : "s", " but ", shapes.size(), " were given"));
  }
  // How many axes each "..." stands for, and the widest.
  std::size_t ellipsis_rank = 0;
  std::vector<std::size_t> spans(terms.size(), 0);
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const std::size_t named = terms[k].letters.size();
    const std::size_t rank = shapes[k].size();
    if (terms[k].ellipsis < 0 ? named != rank : named > rank) {
      throw ShapeError(message("einsum: operand ", k, " has shape ", to_string(shapes[k]), " (", rank,
                               " dimensions) but its subscripts name ", named,
                               terms[k].ellipsis < 0 ? "" : " besides '...'"));
    }
    spans[k] = rank - named;
    ellipsis_rank = std::max(ellipsis_rank, spans[k]);
  }
  EinsumPlan plan;
  plan.extents.assign(einsum_letters + ellipsis_rank, -1);
  std::vector<int> owner(plan.extents.size(), -1);
  std::vector<int> count(plan.extents.size(), 0);
  for (std::size_t k = 0; k < terms.size(); ++k) {
    std::vector<int> labels;
    const auto& letters = terms[k].letters;
    for (std::size_t i = 0; i <= letters.size(); ++i) {
      if (static_cast<int>(i) == terms[k].ellipsis) {
        for (std::size_t t = 0; t < spans[k]; ++t) {
          labels.push_back(einsum_letters + static_cast<int>(ellipsis_rank - spans[k] + t));
        }
      }
      if (i < letters.size()) labels.push_back(letters[i]);
    }
    // Within one operand a repeated index takes a diagonal: equal extents.
    std::vector<std::int64_t> local(plan.extents.size(), -1);
    for (std::size_t d = 0; d < labels.size(); ++d) {
      const auto l = static_cast<std::size_t>(labels[d]);
      const std::int64_t x = shapes[k][d];
      if (local[l] >= 0 && local[l] != x) {
        throw ShapeError(message("einsum: index ", einsum_label_text(labels[d]), " is repeated in operand ", k,
                                 " of shape ", to_string(shapes[k]), " with different extents (", local[l], " != ", x,
                                 ")"));
      }
      local[l] = x;
      ++count[l];
      einsum_extent(plan, owner, labels[d], x, k, shapes);
    }
    plan.inputs.push_back(std::move(labels));
  }
  if (explicit_output) {
    const EinsumTerm out = einsum_term(rhs, eq, arrow + 2);
    std::vector<bool> seen(plan.extents.size(), false);
    for (std::size_t i = 0; i <= out.letters.size(); ++i) {
      if (static_cast<int>(i) == out.ellipsis) {
        for (std::size_t t = 0; t < ellipsis_rank; ++t) plan.output.push_back(einsum_letters + static_cast<int>(t));
      }
      if (i == out.letters.size()) break;
      const int l = out.letters[i];
      if (count[static_cast<std::size_t>(l)] == 0) {
        throw ValueError(message("einsum: output index ", einsum_label_text(l), " of equation \"", eq,
                                 "\" does not appear in any input"));
      }
      if (seen[static_cast<std::size_t>(l)]) {
        throw ValueError(message("einsum: output index ", einsum_label_text(l),
                                 " appears more than once in equation \"", eq, "\""));
      }
      seen[static_cast<std::size_t>(l)] = true;
      plan.output.push_back(l);
    }
  } else {
    // Implicit output: the broadcast "..." axes, then indices seen once, in order.
    for (std::size_t t = 0; t < ellipsis_rank; ++t) plan.output.push_back(einsum_letters + static_cast<int>(t));
    for (int l = 0; l < einsum_letters; ++l) {
      if (count[static_cast<std::size_t>(l)] == 1) plan.output.push_back(l);
    }
  }
  return plan;
}

// Whether axis d (label l, extent x) takes part as the label's full extent;
// an extent-1 axis of a label broadcast to more is left out (the operand is
// constant along that index).
inline bool einsum_live(std::int64_t x, int label, const std::vector<std::int64_t>& extents) {
  return x == extents[static_cast<std::size_t>(label)];
}

inline bool einsum_has(const std::vector<int>& labels, int l) {
  for (int x : labels) {
    if (x == l) return true;
  }
  return false;
}

// A view of x with one axis per distinct live label (first-occurrence order):
// repeated labels become a diagonal (their strides add), broadcast axes drop.
template <class T>
Tensor<T> einsum_distinct(const Tensor<T>& x, const std::vector<int>& labels, const std::vector<std::int64_t>& extents,
                          std::vector<int>& distinct) {
  distinct.clear();
  Shape shape;
  Shape strides;
  for (std::size_t d = 0; d < labels.size(); ++d) {
    if (!einsum_live(x.shape()[d], labels[d], extents)) continue;
    std::size_t at = 0;
    while (at < distinct.size() && distinct[at] != labels[d]) ++at;
    if (at == distinct.size()) {
      distinct.push_back(labels[d]);
      shape.push_back(x.shape()[d]);
      strides.push_back(x.strides()[d]);
    } else {
      strides[at] += x.strides()[d];
    }
  }
  return Tensor<T>::view_of(x.storage(), std::move(shape), std::move(strides), x.offset());
}

// Sums x over the labels `keep` rejects, removing them from `labels`.
template <class T, class Keep>
Tensor<T> einsum_sum_unneeded(const Tensor<T>& x, std::vector<int>& labels, Keep keep) {
  Shape flags = Shape::filled(labels.size(), 0);
  std::vector<int> kept;
  bool any = false;
  for (std::size_t d = 0; d < labels.size(); ++d) {
    if (keep(labels[d])) {
      kept.push_back(labels[d]);
    } else {
      flags[d] = 1;
      any = true;
    }
  }
  if (!any) return x;
  labels = std::move(kept);
  return reduce(x, flags, false, ReduceKind::sum, "einsum");
}

// x (axes already permuted into three consecutive groups ending at g0, g1 and
// ndim) as a 3-D [group0, group1, group2] tensor: a view when each group's
// axes merge, a packed copy otherwise.
template <class T>
Tensor<T> einsum_group3(const Tensor<T>& x, std::size_t g0, std::size_t g1) {
  const std::size_t bounds[4] = {0, g0, g1, x.ndim()};
  Shape shape = Shape::filled(3, 1);
  Shape strides = Shape::filled(3, 1);
  bool merges = true;
  for (std::size_t g = 0; g < 3; ++g) {
    std::int64_t expected = -1;  // stride the next (outer) non-unit axis needs
    for (std::size_t d = bounds[g + 1]; d-- > bounds[g];) {
      const std::int64_t n = x.shape()[d];
      shape[g] *= n;
      if (n == 1) continue;
      if (expected < 0) {
        strides[g] = x.strides()[d];
      } else if (x.strides()[d] != expected) {
        merges = false;
      }
      expected = x.strides()[d] * n;
    }
  }
  if (merges) return Tensor<T>::view_of(x.storage(), std::move(shape), std::move(strides), x.offset());
  return x.contiguous().reshape(std::move(shape));
}

// Contracts two operands whose labels are distinct within each; labels that
// `needed` accepts survive (batch when shared), shared others are summed.
template <class T, class Needed>
Tensor<T> einsum_pair(Tensor<T> a, std::vector<int>& la, Tensor<T> b, const std::vector<int>& lb_in, Needed needed) {
  std::vector<int> lb = lb_in;
  a = einsum_sum_unneeded(a, la, [&](int l) { return needed(l) || einsum_has(lb, l); });
  b = einsum_sum_unneeded(b, lb, [&](int l) { return needed(l) || einsum_has(la, l); });
  std::vector<int> batch, a_only, b_only, contracted;
  for (int l : la) {
    if (!einsum_has(lb, l)) {
      a_only.push_back(l);
    } else if (needed(l)) {
      batch.push_back(l);
    } else {
      contracted.push_back(l);
    }
  }
  for (int l : lb) {
    if (!einsum_has(la, l)) b_only.push_back(l);
  }
  auto position = [](const std::vector<int>& labels, int l) {
    std::int64_t i = 0;
    while (labels[static_cast<std::size_t>(i)] != l) ++i;
    return i;
  };
  Shape pa, pb, out_shape;
  std::vector<int> out_labels;
  for (int l : batch) {
    pa.push_back(position(la, l));
    pb.push_back(position(lb, l));
    out_shape.push_back(a.shape()[static_cast<std::size_t>(pa.back())]);
    out_labels.push_back(l);
  }
  for (int l : a_only) {
    pa.push_back(position(la, l));
    out_shape.push_back(a.shape()[static_cast<std::size_t>(pa.back())]);
    out_labels.push_back(l);
  }
  for (int l : contracted) {
    pa.push_back(position(la, l));
    pb.push_back(position(lb, l));
  }
  for (int l : b_only) {
    pb.push_back(position(lb, l));
    out_shape.push_back(b.shape()[static_cast<std::size_t>(pb.back())]);
    out_labels.push_back(l);
  }
  const std::size_t nb = batch.size();
  const Tensor<T> a3 = einsum_group3(a.permute(pa), nb, nb + a_only.size());
  const Tensor<T> b3 = einsum_group3(b.permute(pb), nb, nb + contracted.size());
  // Nothing summed: a broadcast product beats a batch of rank-1 GEMMs.
  const Tensor<T> c3 = contracted.empty() ? a3 * b3 : matmul(a3, b3);
  la = std::move(out_labels);
  return c3.reshape(std::move(out_shape));
}

// Whether label l is needed once operands i and j are contracted: it is in
// the output or in another operand.
inline bool einsum_needed(const std::vector<std::vector<int>>& ls, const std::vector<int>& output, std::size_t i,
                          std::size_t j, int l) {
  if (einsum_has(output, l)) return true;
  for (std::size_t m = 0; m < ls.size(); ++m) {
    if (m != i && m != j && einsum_has(ls[m], l)) return true;
  }
  return false;
}

// The next pair to contract, greedily (opt_einsum's "greedy" cost): the one
// whose result grows memory least, size(result) - size(a) - size(b), then
// the smallest result, then the leftmost; so "ij,jk,k->i" contracts jk with k first instead of
// building the [i, k] matrix. For two operands this is just (0, 1).
inline void einsum_pick_pair(const std::vector<std::vector<int>>& ls, const std::vector<int>& output,
                             const std::vector<std::int64_t>& extents, std::size_t& best_i, std::size_t& best_j) {
  auto size_of = [&](const std::vector<int>& labels) {
    double n = 1;
    for (int l : labels) n *= static_cast<double>(extents[static_cast<std::size_t>(l)]);
    return n;
  };
  double best = 0;
  double best_result = 0;
  bool found = false;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    for (std::size_t j = i + 1; j < ls.size(); ++j) {
      std::vector<int> kept;
      for (const auto* side : {&ls[i], &ls[j]}) {
        for (int l : *side) {
          if (!einsum_has(kept, l) && einsum_needed(ls, output, i, j, l)) kept.push_back(l);
        }
      }
      const double result = size_of(kept);
      const double cost = result - size_of(ls[i]) - size_of(ls[j]);
      if (!found || cost < best || (cost == best && result < best_result)) {
        best = cost;
        best_result = result;
        best_i = i;
        best_j = j;
        found = true;
      }
    }
  }
}

// The contraction itself, on labels already resolved: pairs of operands
// contracted in einsum_pick_pair's order, result axes in `output` order.
template <class T>
Tensor<T> einsum_run(const std::vector<Tensor<T>>& operands, const std::vector<std::vector<int>>& labels,
                     const std::vector<int>& output, const std::vector<std::int64_t>& extents) {
  std::vector<Tensor<T>> ops;
  std::vector<std::vector<int>> ls(operands.size());
  for (std::size_t k = 0; k < operands.size(); ++k) {
    ops.push_back(einsum_distinct(operands[k], labels[k], extents, ls[k]));
  }
  // An index in one operand only, and not in the output, is summed at once.
  for (std::size_t k = 0; k < ops.size(); ++k) {
    ops[k] = einsum_sum_unneeded(ops[k], ls[k], [&](int l) {
      if (einsum_has(output, l)) return true;
      for (std::size_t j = 0; j < ls.size(); ++j) {
        if (j != k && einsum_has(ls[j], l)) return true;
      }
      return false;
    });
  }
  while (ops.size() > 1) {
    std::size_t i = 0, j = 1;
    einsum_pick_pair(ls, output, extents, i, j);
    // Needed after this pair: the output's labels and those of the other operands.
    auto needed = [&](int l) { return einsum_needed(ls, output, i, j, l); };
    Tensor<T> c = einsum_pair(ops[i], ls[i], ops[j], ls[j], needed);
    ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(j));
    ls.erase(ls.begin() + static_cast<std::ptrdiff_t>(j));
    ops[i] = std::move(c);
  }
  std::vector<int>& final_labels = ls[0];
  Tensor<T> r = einsum_sum_unneeded(ops[0], final_labels, [&](int l) { return einsum_has(output, l); });
  Shape order;
  for (int l : output) {
    std::int64_t i = 0;
    while (i < static_cast<std::int64_t>(final_labels.size()) && final_labels[static_cast<std::size_t>(i)] != l) ++i;
    order.push_back(i);
  }
  r = r.permute(order);
  // A result always owns its storage, even when the equation only permutes.
  for (const auto& x : operands) {
    if (r.storage().same_as(x.storage())) return r.clone();
  }
  return r.contiguous();
}

template <class T>
std::vector<Shape> einsum_shapes(const std::vector<Tensor<T>>& operands) {
  std::vector<Shape> shapes;
  shapes.reserve(operands.size());
  for (const auto& x : operands) shapes.push_back(x.shape());
  return shapes;
}

}  // namespace detail

// Einstein summation as torch.einsum: "ij,jk->ik" names each operand's axes
// (letters, case-sensitive, spaces ignored); indices missing from the output
// are summed. Without "->" the output holds the indices that appear once, in
// ASCII order (upper case first). "..." stands for broadcast axes; an index
// repeated in one operand takes its diagonal ("ii->i", trace "ii->"). Extents
// of 1 broadcast against the same index elsewhere. Pairs of operands are
// contracted as batched matrix products, the pair that keeps intermediates
// smallest first (torch 1.13 goes left to right). The result never
// shares storage with an operand (torch returns a view for pure permutations).
template <class T>
Tensor<T> einsum(std::string_view equation, const std::vector<Tensor<T>>& operands) {
  const detail::EinsumPlan plan = detail::einsum_parse(equation, detail::einsum_shapes(operands));
  return detail::einsum_run(operands, plan.inputs, plan.output, plan.extents);
}

template <class T, class... Rest>
  requires(std::is_same_v<Rest, Tensor<T>> && ...)
Tensor<T> einsum(std::string_view equation, const Tensor<T>& first, const Rest&... rest) {
  return einsum(equation, std::vector<Tensor<T>>{first, rest...});
}

}  // namespace nabla

// Graph passes for inference, run by graph::optimize to a fixed point:
// identity and dead-node removal, constant folding (Shape and Size of
// statically known shapes too, from a small shape inference: infer_shapes),
// Conv+BatchNormalization and MatMul/Gemm+bias folding, and epilogue fusion
// of Conv/Gemm with a residual Add and an activation into the "nabla"
// domain's FusedConv/FusedGemm (graph/ops_fused.hpp). Each pass is also a
// function of its own returning how many nodes it changed. An optimized graph
// runs in a Session; it is not ONNX any more (onnx::save refuses it).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/kernel.hpp"
#include "nabla/graph/ops_fused.hpp"
#include "nabla/graph/ops_math.hpp"
#include "nabla/graph/ops_nn.hpp"
#include "nabla/graph/registry.hpp"
#include "nabla/graph/value.hpp"

namespace nabla::graph {

// What optimize changed, per pass, summed over its rounds.
struct OptimizeReport {
  std::int64_t identities_removed = 0;    // Identity, and Dropout in inference
  std::int64_t dead_nodes_removed = 0;    // nodes no graph output needs
  std::int64_t initializers_removed = 0;  // initializers nothing reads
  std::int64_t constants_folded = 0;      // nodes replaced by initializers
  std::int64_t conv_bn_folded = 0;        // Conv + BatchNormalization -> Conv
  std::int64_t bias_folded = 0;           // MatMul/Gemm + Add(constant) -> Gemm
  std::map<std::string, std::int64_t> fused;  // by pattern ("Conv+Add+Relu"): FusedConv/FusedGemm made
  std::int64_t rounds = 0;                // runs of all passes (the last one changed nothing)

  std::int64_t fused_total() const {
    std::int64_t n = 0;
    for (const auto& [pattern, count] : fused) n += count;
    return n;
  }
};

namespace passes_impl {

inline bool onnx_domain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }
inline bool is_op(const Node& n, const char* op) { return onnx_domain(n) && n.op_type == op; }

inline bool has_subgraph(const Node& n) {
  return std::any_of(n.attributes.begin(), n.attributes.end(),
                     [](const auto& kv) { return std::holds_alternative<std::shared_ptr<const Graph>>(kv.second); });
}

// Every name that n's subgraphs (nested ones too) read or return. It is a
// superset of what they read from the enclosing graph, which is all the
// passes need: those values stay alive and keep their names.
inline void add_subgraph_reads(const Node& n, std::set<std::string>& names) {
  for (const auto& [key, attr] : n.attributes) {
    const auto* sub = std::get_if<std::shared_ptr<const Graph>>(&attr);
    if (!sub || !*sub) continue;
    for (const Node& inner : (*sub)->nodes) {
      for (const auto& in : inner.inputs) {
        if (!in.empty()) names.insert(in);
      }
      add_subgraph_reads(inner, names);
    }
    for (const auto& out : (*sub)->outputs) names.insert(out.name);
  }
}

// Who reads each value: the (distinct) nodes naming it as an input, in
// order, and whether a graph output or a subgraph reads it too; those last
// two readers cannot be rewired.
class Readers {
 public:
  explicit Readers(const Graph& g) {
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      for (const auto& in : g.nodes[i].inputs) {
        if (in.empty()) continue;
        auto& list = nodes_[in];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
      add_subgraph_reads(g.nodes[i], captured_);
    }
    for (const auto& out : g.outputs) outputs_.insert(out.name);
  }

  const std::vector<std::size_t>& of(const std::string& name) const {
    const auto it = nodes_.find(name);
    return it == nodes_.end() ? none_ : it->second;
  }
  bool graph_output(const std::string& name) const { return outputs_.count(name) != 0; }
  bool captured(const std::string& name) const { return captured_.count(name) != 0; }
  bool pinned(const std::string& name) const { return graph_output(name) || captured(name); }
  // The one node reading `name`, when nothing else reads it.
  std::optional<std::size_t> sole(const std::string& name) const {
    const auto& list = of(name);
    if (pinned(name) || list.size() != 1) return std::nullopt;
    return list[0];
  }
  bool unused(const std::string& name) const { return !pinned(name) && of(name).empty(); }

 private:
  std::map<std::string, std::vector<std::size_t>> nodes_;
  std::set<std::string> outputs_, captured_;
  std::vector<std::size_t> none_;
};

// Names for new initializers: `base`, or base_2, base_3, ... when taken.
class FreshNames {
 public:
  explicit FreshNames(const Graph& g) {
    for (const auto& in : g.inputs) used_.insert(in.name);
    for (const auto& out : g.outputs) used_.insert(out.name);
    for (const auto& [name, value] : g.initializers) used_.insert(name);
    for (const Node& n : g.nodes) {
      used_.insert(n.inputs.begin(), n.inputs.end());
      used_.insert(n.outputs.begin(), n.outputs.end());
      add_subgraph_reads(n, used_);
    }
  }
  std::string make(const std::string& base) {
    std::string name = base;
    for (int k = 2; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

inline const Value* constant_of(const Graph& g, const std::string& name) {
  if (name.empty()) return nullptr;
  const auto it = g.initializers.find(name);
  return it == g.initializers.end() ? nullptr : &it->second;
}
inline const std::string& input_name(const Node& n, std::size_t k) {
  static const std::string none;
  return k < n.inputs.size() ? n.inputs[k] : none;
}
inline bool floating(const Value* v) { return v && (v->is<float>() || v->is<double>()); }
// A one-element float/double constant's value.
inline std::optional<double> scalar_of(const Value* v) {
  if (!floating(v) || v->numel() != 1) return std::nullopt;
  return v->to<double>().item();
}
inline std::vector<double> doubles_of(const Value& v) { return v.to<double>().contiguous().to_vector(); }
inline Value value_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  if (dtype == DType::float64) return Tensor<double>(shape, values);
  std::vector<float> f(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) f[i] = static_cast<float>(values[i]);
  return Tensor<float>(shape, std::move(f));
}

// Whether the runtime implements the node at the graph's opset (a pass must
// not turn a node the Session would refuse into one it accepts).
inline bool runs_here(const Graph& g, const Node& n) {
  const OpSupport* support = find_op(n);
  const std::int64_t opset = g.opset(n.domain);
  return support && (opset == 0 || (opset >= support->since_opset && opset <= support->until_opset));
}

// Drops the nodes marked in `drop`, keeping the others' order.
inline void erase_marked(Graph& g, const std::vector<bool>& drop) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
}

// Which node writes each value.
inline std::map<std::string, std::size_t> producers(const Graph& g) {
  std::map<std::string, std::size_t> p;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& out : g.nodes[i].outputs) {
      if (!out.empty()) p[out] = i;
    }
  }
  return p;
}

// --- Shape inference -------------------------------------------------------
using Dims = std::vector<Dim>;

inline Dim fixed_dim(std::int64_t extent) { return Dim{extent, ""}; }
inline bool all_known(const Dims& dims) {
  return std::all_of(dims.begin(), dims.end(), [](const Dim& d) { return d.known(); });
}
inline Dims dims_of(const Shape& shape) {
  Dims d;
  for (const std::int64_t e : shape) d.push_back(fixed_dim(e));
  return d;
}

// Two dims that must be equal (Concat's other axes): the known one.
inline Dim same_dim(const Dim& a, const Dim& b) {
  if (a.known()) return a;
  if (b.known()) return b;
  return a.symbol == b.symbol ? a : Dim{};
}

// NumPy broadcasting of one axis; nullopt when the extents cannot broadcast.
inline std::optional<Dim> broadcast_dim(const Dim& a, const Dim& b) {
  if (a.known() && a.extent == 1) return b;
  if (b.known() && b.extent == 1) return a;
  if (a.known() && b.known()) return a.extent == b.extent ? std::optional<Dim>(a) : std::nullopt;
  if (a.known()) return a;  // the unknown one is 1 or the same
  if (b.known()) return b;
  return !a.symbol.empty() && a.symbol == b.symbol ? a : Dim{};
}
inline std::optional<Dims> broadcast_dims(const Dims& a, const Dims& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const Dim da = i + a.size() >= rank ? a[i + a.size() - rank] : fixed_dim(1);
    const Dim db = i + b.size() >= rank ? b[i + b.size() - rank] : fixed_dim(1);
    const auto d = broadcast_dim(da, db);
    if (!d) return std::nullopt;
    out[i] = *d;
  }
  return out;
}

// The product of dims [lo, hi): known when all are (a single dim is itself).
inline Dim dims_product(const Dims& dims, std::size_t lo, std::size_t hi) {
  if (hi - lo == 1) return dims[lo];
  std::int64_t p = 1;
  for (std::size_t d = lo; d < hi; ++d) {
    if (!dims[d].known()) return Dim{};
    p *= dims[d].extent;
  }
  return fixed_dim(p);
}

// One node's output shapes from its inputs' (what it cannot infer stays
// unknown: absent from `known`).
inline void infer_node(const Graph& g, const Node& n, std::map<std::string, ValueInfo>& known) {
  auto input = [&](std::size_t k) -> const ValueInfo* {
    const std::string& name = input_name(n, k);
    const auto it = name.empty() ? known.end() : known.find(name);
    return it == known.end() ? nullptr : &it->second;
  };
  auto set = [&](std::size_t k, DType dtype, Dims dims) {
    if (k < n.outputs.size() && !n.outputs[k].empty()) known[n.outputs[k]] = ValueInfo{n.outputs[k], dtype, std::move(dims), true};
  };
  std::string op = n.op_type;
  if (n.domain == "nabla") {
    if (op != "FusedConv" && op != "FusedGemm") return;
    op = op == "FusedConv" ? "Conv" : "Gemm";  // the residual has the output's shape
  } else if (!onnx_domain(n)) {
    return;
  }

  if (op == "Constant") {
    if (n.has("value")) set(0, n.attr_tensor("value").dtype(), dims_of(n.attr_tensor("value").shape()));
    if (n.has("value_float")) set(0, DType::float32, {});
    if (n.has("value_int")) set(0, DType::int64, {});
    if (n.has("value_floats")) set(0, DType::float32, {fixed_dim(static_cast<std::int64_t>(n.attr_floats("value_floats").size()))});
    if (n.has("value_ints")) set(0, DType::int64, {fixed_dim(static_cast<std::int64_t>(n.attr_ints("value_ints").size()))});
    return;
  }
  const ValueInfo* x = input(0);
  if (!x) return;
  const Dims& xs = x->shape;
  const std::size_t rank = xs.size();

  static const std::set<std::string> same_shape{
      "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Floor", "Ceil", "Softplus",
      "Erf", "HardSwish", "Neg", "Abs", "Sign", "LeakyRelu", "Elu", "HardSigmoid", "Clip", "Identity", "Dropout",
      "Softmax", "LogSoftmax", "BatchNormalization", "LayerNormalization", "Not"};
  static const std::set<std::string> arithmetic{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod"};
  static const std::set<std::string> comparison{"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"};

  if (same_shape.count(op)) {
    set(0, x->dtype, xs);
    if (op == "Dropout") set(1, DType::boolean, xs);  // the mask
  } else if (op == "Cast") {
    set(0, ops::dtype_from_onnx(n.attr_int("to"), n.describe()), xs);
  } else if (arithmetic.count(op) || comparison.count(op) || op == "Where") {
    Dims out = xs;
    for (std::size_t k = 1; k < n.inputs.size(); ++k) {
      const ValueInfo* other = input(k);
      if (!other) return;
      auto b = broadcast_dims(out, other->shape);
      if (!b) return;
      out = std::move(*b);
    }
    const DType dtype = comparison.count(op) ? DType::boolean : op == "Where" ? (input(1) ? input(1)->dtype : DType::undefined) : x->dtype;
    set(0, dtype, std::move(out));
  } else if (op == "Shape") {
    const auto r = static_cast<std::int64_t>(rank);
    auto clip = [r](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + r : v, 0, r); };
    const std::int64_t lo = clip(n.attr_int("start", 0)), hi = n.has("end") ? clip(n.attr_int("end")) : r;
    set(0, DType::int64, {fixed_dim(std::max<std::int64_t>(hi - lo, 0))});
  } else if (op == "Size") {
    set(0, DType::int64, {});
  } else if (op == "Conv") {
    const ValueInfo* w = input(1);
    if (!w || rank < 3 || rank > 4 || w->shape.size() != rank) return;
    std::vector<std::int64_t> kernel = n.attr_ints("kernel_shape");
    if (kernel.empty()) {
      for (std::size_t d = 2; d < rank; ++d) {
        if (!w->shape[d].known()) return;
        kernel.push_back(w->shape[d].extent);
      }
    }
    if (kernel.size() != rank - 2) return;
    const ops::impl::Window2d win = ops::impl::conv_window(n, kernel);
    const Dim h = rank == 3 ? fixed_dim(1) : xs[2], wd = xs[rank - 1];
    const ops::impl::Window2d r = win.resolved(h.known() ? h.extent : 1, wd.known() ? wd.extent : 1);
    Dims out{xs[0], w->shape[0]};
    if (rank == 4) out.push_back(h.known() ? fixed_dim(ops::impl::Window2d::out_extent(h.extent, r.kh, r.sh, r.dh, r.pt, r.pb, false)) : Dim{});
    out.push_back(wd.known() ? fixed_dim(ops::impl::Window2d::out_extent(wd.extent, r.kw, r.sw, r.dw, r.pl, r.pr, false)) : Dim{});
    set(0, x->dtype, std::move(out));
  } else if (op == "MaxPool" || op == "AveragePool") {
    if (rank != 4) return;
    const ops::impl::Window2d win = ops::impl::Window2d::from(n, n.attr_ints("kernel_shape"));
    const ops::impl::Window2d r = win.resolved(xs[2].known() ? xs[2].extent : 1, xs[3].known() ? xs[3].extent : 1);
    Dims out{xs[0], xs[1], Dim{}, Dim{}};
    if (xs[2].known()) out[2] = fixed_dim(ops::impl::Window2d::out_extent(xs[2].extent, r.kh, r.sh, r.dh, r.pt, r.pb, r.ceil_mode));
    if (xs[3].known()) out[3] = fixed_dim(ops::impl::Window2d::out_extent(xs[3].extent, r.kw, r.sw, r.dw, r.pl, r.pr, r.ceil_mode));
    set(0, x->dtype, std::move(out));
  } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    if (rank < 3) return;
    Dims out(rank, fixed_dim(1));
    out[0] = xs[0];
    out[1] = xs[1];
    set(0, x->dtype, std::move(out));
  } else if (op == "Gemm") {
    const ValueInfo* b = input(1);
    if (!b || rank != 2 || b->shape.size() != 2) return;
    const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
    set(0, x->dtype, {xs[ta ? 1 : 0], b->shape[tb ? 0 : 1]});
  } else if (op == "MatMul") {
    const ValueInfo* b = input(1);
    if (!b || rank == 0 || b->shape.empty()) return;
    Dims a = xs, bs = b->shape;
    const bool a_vector = a.size() == 1, b_vector = bs.size() == 1;
    if (a_vector) a.insert(a.begin(), fixed_dim(1));
    if (b_vector) bs.push_back(fixed_dim(1));
    auto out = broadcast_dims(Dims(a.begin(), a.end() - 2), Dims(bs.begin(), bs.end() - 2));
    if (!out) return;
    if (!a_vector) out->push_back(a[a.size() - 2]);
    if (!b_vector) out->push_back(bs.back());
    set(0, x->dtype, std::move(*out));
  } else if (op == "Flatten") {
    const std::int64_t axis = n.attr_int("axis", 1);
    const std::int64_t a = axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
    if (a < 0 || a > static_cast<std::int64_t>(rank)) return;
    const auto cut = static_cast<std::size_t>(a);
    set(0, x->dtype, {cut == 0 ? fixed_dim(1) : dims_product(xs, 0, cut), cut == rank ? fixed_dim(1) : dims_product(xs, cut, rank)});
  } else if (op == "Reshape") {
    const Value* spec_value = constant_of(g, input_name(n, 1));
    if (!spec_value) return;
    const std::vector<std::int64_t> spec = detail::int_list(*spec_value, n.describe() + " shape");
    const bool allow_zero = n.attr_int("allowzero", 0) != 0;
    Dims out;
    std::vector<bool> copied(rank, false);  // input axes that 0 copies
    std::optional<std::size_t> inferred;
    for (std::size_t i = 0; i < spec.size(); ++i) {
      if (spec[i] == 0 && !allow_zero) {
        if (i >= rank) return;
        copied[i] = true;
        out.push_back(xs[i]);
      } else if (spec[i] == -1) {
        if (inferred) return;
        inferred = i;
        out.push_back(Dim{});
      } else if (spec[i] < 0) {
        return;
      } else {
        out.push_back(fixed_dim(spec[i]));
      }
    }
    if (inferred) {
      // -1 takes what the other axes leave: copied axes cancel (whatever
      // their extent), every other input axis must be known.
      std::int64_t in_elems = 1, out_elems = 1;
      bool countable = true;
      for (std::size_t d = 0; d < rank; ++d) {
        if (copied[d]) continue;
        countable = countable && xs[d].known();
        if (xs[d].known()) in_elems *= xs[d].extent;
      }
      for (std::size_t d = 0; d < out.size(); ++d) {
        if (d != *inferred && !(d < rank && copied[d])) out_elems *= out[d].extent;
      }
      if (countable && out_elems > 0 && in_elems % out_elems == 0) out[*inferred] = fixed_dim(in_elems / out_elems);
    }
    set(0, x->dtype, std::move(out));
  } else if (op == "Transpose") {
    std::vector<std::int64_t> perm = n.attr_ints("perm");
    if (perm.empty()) {
      for (std::size_t d = rank; d-- > 0;) perm.push_back(static_cast<std::int64_t>(d));
    }
    if (perm.size() != rank) return;
    Dims out;
    std::vector<bool> seen(rank, false);
    for (const std::int64_t p : perm) {
      if (p < 0 || p >= static_cast<std::int64_t>(rank) || seen[static_cast<std::size_t>(p)]) return;
      seen[static_cast<std::size_t>(p)] = true;
      out.push_back(xs[static_cast<std::size_t>(p)]);
    }
    set(0, x->dtype, std::move(out));
  } else if (op == "Concat") {
    const std::int64_t axis = n.attr_int("axis");
    const std::int64_t a = axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
    if (a < 0 || a >= static_cast<std::int64_t>(rank)) return;
    const auto at = static_cast<std::size_t>(a);
    Dims out = xs;
    for (std::size_t k = 1; k < n.inputs.size(); ++k) {
      const ValueInfo* other = input(k);
      if (!other || other->shape.size() != rank) return;
      for (std::size_t d = 0; d < rank; ++d) {
        if (d != at) {
          out[d] = same_dim(out[d], other->shape[d]);
        } else {
          out[d] = out[d].known() && other->shape[d].known() ? fixed_dim(out[d].extent + other->shape[d].extent) : Dim{};
        }
      }
    }
    set(0, x->dtype, std::move(out));
  }
}

}  // namespace passes_impl

// The shapes the graph's values have whatever it is fed (within its declared
// input shapes): graph inputs and initializers, then through elementwise ops
// (broadcasting), Conv, the pools, BatchNormalization, Gemm, MatMul, Flatten,
// Reshape with a constant shape, Transpose, Concat, Softmax, Shape, ...
// A symbolic dim (a batch) stays unknown (extent -1, its symbol kept where it
// passes through unchanged); values after an op it does not know are absent.
inline std::map<std::string, ValueInfo> infer_shapes(const Graph& g) {
  std::map<std::string, ValueInfo> known;
  for (const ValueInfo& in : g.inputs) {
    if (in.has_shape && !g.initializers.count(in.name)) known[in.name] = in;
  }
  for (const auto& [name, value] : g.initializers) {
    known[name] = ValueInfo{name, value.dtype(), passes_impl::dims_of(value.shape()), true};
  }
  for (const Node& n : g.nodes) {
    try {
      passes_impl::infer_node(g, n, known);
    } catch (const std::exception&) {
      // Attributes or shapes the op refuses: the Session says so when it
      // builds or runs the node; here its outputs just stay unknown.
    }
  }
  return known;
}

// --- Identity removal --------------------------------------------------------
namespace passes_impl {

// Identity, or Dropout as inference runs it (no training_mode input, as
// before opset 12, or a constant false one; the ratio does not matter then)
// with its mask unused.
inline bool is_passthrough(const Graph& g, const Node& n, const Readers& readers) {
  if (!onnx_domain(n) || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() || n.outputs[0].empty()) return false;
  if (n.op_type == "Identity") return n.outputs.size() == 1;
  if (n.op_type != "Dropout") return false;
  if (!input_name(n, 2).empty()) {
    const Value* training = constant_of(g, n.inputs[2]);
    if (!training || !training->is<bool>() || training->numel() != 1 || training->as<bool>().item()) return false;
  }
  for (std::size_t k = 1; k < n.outputs.size(); ++k) {
    if (!n.outputs[k].empty() && !readers.unused(n.outputs[k])) return false;
  }
  return true;
}

}  // namespace passes_impl

// Removes Identity and inference Dropout nodes, rewiring their readers to
// the input. A graph output keeps its name: the input's producer is renamed
// to write it instead, or the node stays when its input is a graph input, an
// initializer, another graph output or read by a subgraph.
inline std::int64_t remove_identities(Graph& g) {
  const passes_impl::Readers readers(g);
  std::map<std::string, std::string> alias;       // removed output -> the value it was
  std::map<std::string, std::size_t> producer;    // value -> index in `kept`
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  std::int64_t removed = 0;
  for (Node& node : g.nodes) {
    for (auto& in : node.inputs) {
      const auto it = alias.find(in);
      if (it != alias.end()) in = it->second;
    }
    if (passes_impl::is_passthrough(g, node, readers)) {
      const std::string src = node.inputs[0], dst = node.outputs[0];
      if (!readers.pinned(dst)) {
        alias[dst] = src;
        ++removed;
        continue;
      }
      const auto p = producer.find(src);
      if (readers.graph_output(dst) && !readers.captured(dst) && !readers.pinned(src) && p != producer.end()) {
        const std::size_t at = p->second;
        for (auto& out : kept[at].outputs) {
          if (out == src) out = dst;
        }
        for (std::size_t k = at + 1; k < kept.size(); ++k) {
          for (auto& in : kept[k].inputs) {
            if (in == src) in = dst;
          }
        }
        for (auto& [from, to] : alias) {
          if (to == src) to = dst;
        }
        alias[src] = dst;
        producer.erase(p);
        producer[dst] = at;
        ++removed;
        continue;
      }
    }
    for (const auto& out : node.outputs) {
      if (!out.empty()) producer[out] = kept.size();
    }
    kept.push_back(std::move(node));
  }
  g.nodes = std::move(kept);
  return removed;
}

// --- Dead-node removal ---------------------------------------------------------
// Removes the nodes none of whose outputs a graph output needs (a node with
// subgraphs needs every value they read), then the initializers nothing
// reads (and their entries in the graph's inputs). Returns the nodes removed;
// `initializers_removed`, when given, gets the initializers.
inline std::int64_t remove_dead_nodes(Graph& g, std::int64_t* initializers_removed = nullptr) {
  std::set<std::string> live;
  for (const auto& out : g.outputs) live.insert(out.name);
  std::vector<bool> drop(g.nodes.size(), true);
  for (std::size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    if (std::none_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) { return !o.empty() && live.count(o); })) continue;
    drop[i] = false;
    for (const auto& in : n.inputs) {
      if (!in.empty()) live.insert(in);
    }
    passes_impl::add_subgraph_reads(n, live);
  }
  const auto dead = static_cast<std::int64_t>(std::count(drop.begin(), drop.end(), true));
  passes_impl::erase_marked(g, drop);
  std::int64_t unused = 0;
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    const std::string name = it->first;
    it = g.initializers.erase(it);
    g.inputs.erase(std::remove_if(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return v.name == name; }),
                   g.inputs.end());
    ++unused;
  }
  if (initializers_removed) *initializers_removed += unused;
  return dead;
}

// --- Constant folding ------------------------------------------------------------
namespace passes_impl {

// A folded output may not be larger than this: folding Expand, Tile or
// ConstantOfShape into a huge constant costs that memory for the Session's
// whole life (and a bigger model) to save a cheap op per run.
inline constexpr double max_folded_bytes = 64.0 * 1024 * 1024;

// Ops whose output is random: never folded (none is implemented today).
inline bool is_random(const Node& n) {
  static const std::set<std::string> random{"RandomNormal", "RandomUniform", "RandomNormalLike",
                                            "RandomUniformLike", "Multinomial", "Bernoulli"};
  return random.count(n.op_type) != 0;
}

// The bytes of the outputs of the ops that make large tensors from small
// constant inputs, before running them; nullopt for other ops (whose outputs
// are checked after the run).
inline std::optional<double> growing_output_bytes(const Node& n, const std::vector<Value>& in) {
  const std::string& op = n.op_type;
  auto elements = [](const std::vector<std::int64_t>& dims) {
    double e = 1;
    for (const std::int64_t d : dims) e *= static_cast<double>(std::max<std::int64_t>(d, 0));
    return e;
  };
  if (op == "ConstantOfShape" && !in.empty()) {
    const DType dtype = n.has("value") ? n.attr_tensor("value").dtype() : DType::float32;
    return elements(detail::int_list(in[0], n.describe())) * static_cast<double>(dtype_size(dtype));
  }
  if ((op == "Expand" || op == "Tile") && in.size() >= 2) {
    const std::vector<std::int64_t> spec = detail::int_list(in[1], n.describe());
    const Shape& shape = in[0].shape();
    double e = 1;
    if (op == "Tile") {
      e = elements(std::vector<std::int64_t>(shape.begin(), shape.end())) * elements(spec);
    } else {
      const std::size_t rank = std::max(shape.size(), spec.size());
      for (std::size_t i = 0; i < rank; ++i) {
        const std::int64_t a = i + shape.size() >= rank ? shape[i + shape.size() - rank] : 1;
        const std::int64_t b = i + spec.size() >= rank ? spec[i + spec.size() - rank] : 1;
        e *= static_cast<double>(std::max<std::int64_t>(a == 1 ? b : a, 0));
      }
    }
    return e * static_cast<double>(dtype_size(in[0].dtype()));
  }
  if (op == "Range" && in.size() == 3) {
    const double start = in[0].to<double>().item(), limit = in[1].to<double>().item(), delta = in[2].to<double>().item();
    return std::max(std::ceil((limit - start) / delta), 0.0) * static_cast<double>(dtype_size(in[0].dtype()));
  }
  return std::nullopt;
}

// Shape or Size of a value whose (selected) dims are all known.
inline std::optional<Value> static_shape_value(const Node& n, const std::map<std::string, ValueInfo>& shapes) {
  const auto it = shapes.find(input_name(n, 0));
  if (it == shapes.end() || !it->second.has_shape) return std::nullopt;
  const Dims& dims = it->second.shape;
  const auto r = static_cast<std::int64_t>(dims.size());
  std::int64_t lo = 0, hi = r;
  if (n.op_type == "Shape") {  // start and end as the Shape kernel reads them
    auto clip = [r](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + r : v, 0, r); };
    lo = clip(n.attr_int("start", 0));
    hi = n.has("end") ? clip(n.attr_int("end")) : r;
  }
  std::vector<std::int64_t> extents;
  for (std::int64_t d = lo; d < hi; ++d) {
    const Dim& dim = dims[static_cast<std::size_t>(d)];
    if (!dim.known()) return std::nullopt;
    extents.push_back(dim.extent);
  }
  if (n.op_type == "Size") {
    std::int64_t numel = 1;
    for (const std::int64_t e : extents) numel *= e;
    return Value(Tensor<std::int64_t>::scalar(numel));
  }
  return Value(Tensor<std::int64_t>(Shape{static_cast<std::int64_t>(extents.size())}, extents));
}

// Runs a node whose inputs are all constants (or, for Shape/Size, whose
// input's shape is static) and adds its outputs as initializers; false
// (nothing changed) when it cannot or should not be folded.
inline bool fold_node(Graph& g, const Node& n, const std::map<std::string, ValueInfo>& shapes) {
  if (n.outputs.empty() || has_subgraph(n) || is_random(n) || !runs_here(g, n)) return false;
  std::vector<Value> outputs(n.outputs.size());
  const bool all_constant = std::all_of(n.inputs.begin(), n.inputs.end(),
                                        [&](const std::string& in) { return in.empty() || constant_of(g, in); });
  if (!all_constant) {
    if (!onnx_domain(n) || (n.op_type != "Shape" && n.op_type != "Size") || n.outputs.size() != 1) return false;
    auto v = static_shape_value(n, shapes);
    if (!v) return false;
    outputs[0] = std::move(*v);
  } else {
    std::vector<Value> inputs;
    for (const auto& in : n.inputs) inputs.push_back(in.empty() ? Value() : *constant_of(g, in));
    try {
      if (const auto bytes = growing_output_bytes(n, inputs); bytes && *bytes > max_folded_bytes) return false;
      const KernelContext ctx{.graph = g,
                              .opset = g.opset(n.domain),
                              .constant = [&inputs](std::size_t k) -> const Value* {
                                return k < inputs.size() && inputs[k].defined() ? &inputs[k] : nullptr;
                              }};
      find_op(n)->build(n, ctx)->run(inputs, outputs);
    } catch (const std::exception&) {
      return false;  // the Session reports the error when it builds or runs the node
    }
  }
  for (std::size_t k = 0; k < n.outputs.size(); ++k) {
    if (n.outputs[k].empty()) continue;
    if (!outputs[k].defined()) return false;
    if (static_cast<double>(outputs[k].numel()) * static_cast<double>(dtype_size(outputs[k].dtype())) > max_folded_bytes) return false;
  }
  for (std::size_t k = 0; k < n.outputs.size(); ++k) {
    if (!n.outputs[k].empty()) g.initializers[n.outputs[k]] = std::move(outputs[k]);
  }
  return true;
}

}  // namespace passes_impl

// Replaces each node whose inputs are all initializers (Constant nodes
// included) by initializers holding its outputs, computed once by its
// kernel; and Shape/Size of a value whose shape infer_shapes knows. Nodes
// with subgraphs, random ops, failing nodes and outputs over 64 MiB stay.
// Sweeps until nothing folds: a folded Reshape shape makes later shapes known.
inline std::int64_t fold_constants(Graph& g) {
  std::int64_t total = 0;
  for (;;) {
    const auto shapes = infer_shapes(g);
    std::vector<bool> drop(g.nodes.size(), false);
    for (std::size_t i = 0; i < g.nodes.size(); ++i) drop[i] = passes_impl::fold_node(g, g.nodes[i], shapes);
    const auto folded = static_cast<std::int64_t>(std::count(drop.begin(), drop.end(), true));
    if (folded == 0) return total;
    passes_impl::erase_marked(g, drop);
    total += folded;
  }
}

// --- Conv + BatchNormalization, MatMul/Gemm + bias -------------------------------
// Folds BatchNormalization (inference, constant scale/B/mean/var) into the
// Conv (constant W, optional constant B) whose output only it reads:
// W' = W * s[c], B' = (B - mean) * s + beta with s = scale / sqrt(var + eps),
// in double, cast to the weight's dtype (new initializers: W may be shared).
inline std::int64_t fold_conv_bn(Graph& g) {
  using passes_impl::constant_of;
  const passes_impl::Readers readers(g);
  passes_impl::FreshNames names(g);
  const auto producer = passes_impl::producers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  std::int64_t folded = 0;
  for (std::size_t j = 0; j < g.nodes.size(); ++j) {
    const Node& bn = g.nodes[j];
    if (!passes_impl::is_op(bn, "BatchNormalization") || bn.inputs.size() != 5 || bn.outputs.empty() || bn.outputs[0].empty()) continue;
    if (bn.attr_int("training_mode", 0) != 0 || bn.attr_int("spatial", 1) != 1 ||
        std::any_of(bn.outputs.begin() + 1, bn.outputs.end(), [](const std::string& o) { return !o.empty(); })) {
      continue;
    }
    const auto p = producer.find(bn.inputs[0]);
    if (p == producer.end() || drop[p->second] || readers.sole(bn.inputs[0]) != j) continue;
    Node& conv = g.nodes[p->second];
    if (!passes_impl::is_op(conv, "Conv") || conv.outputs.size() != 1 || conv.inputs.size() < 2 || conv.inputs.size() > 3) continue;
    const Value* w = constant_of(g, conv.inputs[1]);
    const std::string& bias_name = passes_impl::input_name(conv, 2);
    const Value* b = constant_of(g, bias_name);
    if (!passes_impl::floating(w) || w->shape().size() < 3 || (!bias_name.empty() && !b)) continue;
    const std::int64_t channels = w->shape()[0];
    std::vector<const Value*> per_channel{b};  // B (null when absent), scale, beta, mean, var
    for (std::size_t k = 1; k < 5; ++k) per_channel.push_back(constant_of(g, bn.inputs[k]));
    auto fits = [&](const Value* v) { return v && v->dtype() == w->dtype() && v->numel() == channels; };
    // Otherwise the unfolded nodes' kernels report what is wrong.
    if ((b && !fits(b)) || !std::all_of(per_channel.begin() + 1, per_channel.end(), fits)) continue;

    const double eps = bn.attr_float("epsilon", 1e-5);
    const std::vector<double> scale = passes_impl::doubles_of(*per_channel[1]), beta = passes_impl::doubles_of(*per_channel[2]);
    const std::vector<double> mean = passes_impl::doubles_of(*per_channel[3]), var = passes_impl::doubles_of(*per_channel[4]);
    const std::vector<double> bias = b ? passes_impl::doubles_of(*b) : std::vector<double>(static_cast<std::size_t>(channels), 0.0);
    std::vector<double> weight = passes_impl::doubles_of(*w), new_bias(static_cast<std::size_t>(channels));
    const std::size_t per_filter = weight.size() / static_cast<std::size_t>(std::max<std::int64_t>(channels, 1));
    for (std::size_t c = 0; c < static_cast<std::size_t>(channels); ++c) {
      const double s = scale[c] / std::sqrt(var[c] + eps);
      for (std::size_t i = c * per_filter; i < (c + 1) * per_filter; ++i) weight[i] *= s;
      new_bias[c] = (bias[c] - mean[c]) * s + beta[c];
    }
    const std::string w_name = names.make(conv.inputs[1] + "_bn"), b_name = names.make(conv.inputs[1] + "_bn_bias");
    g.initializers[w_name] = passes_impl::value_from_doubles(weight, w->shape(), w->dtype());
    g.initializers[b_name] = passes_impl::value_from_doubles(new_bias, Shape{channels}, w->dtype());
    conv.inputs = {conv.inputs[0], w_name, b_name};
    conv.outputs = {bn.outputs[0]};
    drop[j] = true;
    ++folded;
  }
  passes_impl::erase_marked(g, drop);
  return folded;
}

namespace passes_impl {

// Whether a constant bias of `bias` shape added to an [m, n] product gives
// an [m, n] result (Gemm's C broadcasts one way only).
inline bool bias_fits(const Shape& bias, const Dim& m, const Dim& n) {
  if (bias.size() > 2) return false;
  if (!bias.empty() && bias.back() != 1 && !(n.known() && bias.back() == n.extent)) return false;
  return bias.size() < 2 || bias[0] == 1 || (m.known() && bias[0] == m.extent);
}

}  // namespace passes_impl

// Folds Add(product, constant bias) into the product when the product is a
// MatMul of a 2-D input and a constant [K, N] weight (a Gemm; with a [N] or
// [1, N] bias and an unshared weight, transposed once so the Gemm runs as a
// Linear layer) or a Gemm without C (the bias becomes C, beta 1).
inline std::int64_t fold_linear_bias(Graph& g) {
  using passes_impl::constant_of;
  const passes_impl::Readers readers(g);
  passes_impl::FreshNames names(g);
  const auto shapes = infer_shapes(g);
  const auto producer = passes_impl::producers(g);
  auto shape_of = [&](const std::string& name) -> const ValueInfo* {
    const auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
  };
  std::vector<bool> drop(g.nodes.size(), false);
  std::int64_t folded = 0;
  for (std::size_t j = 0; j < g.nodes.size(); ++j) {
    const Node& add = g.nodes[j];
    if (!passes_impl::is_op(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    for (std::size_t side = 0; side < 2; ++side) {
      const std::string& product = add.inputs[side];
      const std::string& bias_name = add.inputs[1 - side];
      const Value* bias = constant_of(g, bias_name);
      const auto p = producer.find(product);
      if (!passes_impl::floating(bias) || p == producer.end() || drop[p->second] || readers.sole(product) != j) continue;
      Node& mm = g.nodes[p->second];
      const ValueInfo* a = shape_of(passes_impl::input_name(mm, 0));
      if (!a || a->shape.size() != 2 || a->dtype != bias->dtype() || mm.outputs.size() != 1) continue;
      if (passes_impl::is_op(mm, "MatMul") && mm.inputs.size() == 2) {
        const Value* w = constant_of(g, mm.inputs[1]);
        if (!w || w->dtype() != bias->dtype() || w->shape().size() != 2) continue;
        const std::int64_t n = w->shape()[1];
        if (!passes_impl::bias_fits(bias->shape(), a->shape[0], passes_impl::fixed_dim(n))) continue;
        const bool row = bias->numel() == n && (bias->shape() == Shape{n} || bias->shape() == Shape{1, n});
        Node gemm;
        gemm.op_type = "Gemm";
        gemm.name = mm.name;
        gemm.outputs = {add.outputs[0]};
        if (row && readers.sole(mm.inputs[1])) {
          const std::string wt = names.make(mm.inputs[1] + "_t"), c = names.make(bias_name + "_row");
          g.initializers[wt] = w->visit([](const auto& t) -> Value { return t.t().contiguous(); });
          g.initializers[c] = bias->visit([n](const auto& t) -> Value { return t.reshape(Shape{n}); });
          gemm.inputs = {mm.inputs[0], wt, c};
          gemm.attributes["transB"] = std::int64_t{1};
        } else {
          gemm.inputs = {mm.inputs[0], mm.inputs[1], bias_name};
        }
        mm = std::move(gemm);
      } else if (passes_impl::is_op(mm, "Gemm") && passes_impl::input_name(mm, 2).empty()) {
        const ValueInfo* b = shape_of(passes_impl::input_name(mm, 1));
        if (!b || b->shape.size() != 2) continue;
        const bool ta = mm.attr_int("transA", 0) != 0, tb = mm.attr_int("transB", 0) != 0;
        if (!passes_impl::bias_fits(bias->shape(), a->shape[ta ? 1 : 0], b->shape[tb ? 0 : 1])) continue;
        mm.inputs.resize(3);
        mm.inputs[2] = bias_name;
        mm.attributes["beta"] = 1.0;
        mm.outputs = {add.outputs[0]};
      } else {
        continue;
      }
      drop[j] = true;
      ++folded;
      break;
    }
  }
  passes_impl::erase_marked(g, drop);
  return folded;
}

// --- Epilogue fusion -----------------------------------------------------------
namespace passes_impl {

struct ActivationMatch {
  std::string name;               // the fused activation attribute ("Relu", "SiLU", ...)
  std::vector<double> params;     // its activation_params
  std::vector<std::size_t> nodes; // the nodes it replaces, in order
  std::string output;
};

// The activation reading `value` (its only reader, or Sigmoid and Mul for
// SiLU), when the fused kernel can do exactly what it does.
inline std::optional<ActivationMatch> match_activation(const Graph& g, const Readers& readers, const std::vector<bool>& claimed,
                                                       const std::string& value, DType dtype) {
  const auto& reading = readers.of(value);
  if (readers.pinned(value) || std::any_of(reading.begin(), reading.end(), [&](std::size_t k) { return claimed[k]; })) {
    return std::nullopt;
  }
  if (reading.size() == 2) {  // x * Sigmoid(x), either operand order
    const Node& s = g.nodes[reading[0]];
    const Node& m = g.nodes[reading[1]];
    if (is_op(s, "Sigmoid") && s.inputs.size() == 1 && s.outputs.size() == 1 && is_op(m, "Mul") && m.inputs.size() == 2 &&
        m.outputs.size() == 1 && readers.sole(s.outputs[0]) == reading[1] &&
        ((m.inputs[0] == value && m.inputs[1] == s.outputs[0]) || (m.inputs[1] == value && m.inputs[0] == s.outputs[0]))) {
      return ActivationMatch{"SiLU", {}, {reading[0], reading[1]}, m.outputs[0]};
    }
    return std::nullopt;
  }
  if (reading.size() != 1) return std::nullopt;
  const Node& a = g.nodes[reading[0]];
  if (!onnx_domain(a) || a.inputs.empty() || a.inputs[0] != value || a.outputs.size() != 1 || a.outputs[0].empty() ||
      !runs_here(g, a)) {
    return std::nullopt;
  }
  ActivationMatch match{a.op_type, {}, {reading[0]}, a.outputs[0]};
  const std::string& op = a.op_type;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") {
    if (a.inputs.size() != 1) return std::nullopt;
  } else if (op == "LeakyRelu") {
    match.params = {a.attr_float("alpha", 0.01)};
  } else if (op == "HardSigmoid") {
    match.params = {a.attr_float("alpha", 0.2), a.attr_float("beta", 0.5)};
  } else if (op == "Clip") {
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (g.opset(a.domain) >= 11) {  // bounds are optional inputs: constant, finite, of the value's dtype
      if (a.inputs.size() > 3) return std::nullopt;
      for (std::size_t k = 1; k < a.inputs.size(); ++k) {
        if (a.inputs[k].empty()) continue;
        const Value* bound = constant_of(g, a.inputs[k]);
        const auto v = scalar_of(bound);
        if (!v || !std::isfinite(*v) || (dtype != DType::undefined && bound->dtype() != dtype)) return std::nullopt;
        (k == 1 ? lo : hi) = *v;
      }
    } else {  // bounds are attributes
      if (a.inputs.size() != 1) return std::nullopt;
      lo = a.attr_float("min", lo);
      hi = a.attr_float("max", hi);
    }
    if (lo > hi) return std::nullopt;  // Clip refuses it at run time; keep that
    match.params = {lo, hi};
  } else {
    return std::nullopt;
  }
  return match;
}

// Whether a and b may have one shape (unknown shapes may).
inline bool maybe_same_shape(const std::map<std::string, ValueInfo>& shapes, const std::string& a, const std::string& b) {
  const auto ia = shapes.find(a), ib = shapes.find(b);
  if (ia == shapes.end() || ib == shapes.end()) return true;
  const Dims& da = ia->second.shape;
  const Dims& db = ib->second.shape;
  if (da.size() != db.size()) return false;
  for (std::size_t d = 0; d < da.size(); ++d) {
    if (da[d].known() && db[d].known() && da[d].extent != db[d].extent) return false;
  }
  return true;
}

}  // namespace passes_impl

// Fuses Conv or Gemm -> [Add(residual)] -> [activation] into one FusedConv /
// FusedGemm node (domain "nabla"; at least one of the two after it), where
// each intermediate value has that one reader and is not a graph output.
// The residual is any computed (non-constant) value of the output's shape,
// on either side of the Add; the activations are Relu, Clip with constant
// bounds, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh and x * Sigmoid(x)
// (SiLU). `patterns`, when given, counts what was fused ("Conv+Add+Relu").
inline std::int64_t fuse_epilogues(Graph& g, std::map<std::string, std::int64_t>* patterns = nullptr) {
  using passes_impl::is_op;
  const passes_impl::Readers readers(g);
  const auto shapes = infer_shapes(g);
  std::vector<bool> claimed(g.nodes.size(), false);
  std::map<std::size_t, Node> fused_at;  // the fused node, at its chain's last node
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& anchor = g.nodes[i];
    if (claimed[i] || !(is_op(anchor, "Conv") || is_op(anchor, "Gemm")) || anchor.outputs.size() != 1 ||
        anchor.outputs[0].empty() || anchor.inputs.size() < 2 || anchor.inputs.size() > 3) {
      continue;
    }
    std::vector<std::size_t> chain{i};
    std::string value = anchor.outputs[0], residual, pattern = anchor.op_type;
    if (const auto r = readers.sole(value); r && !claimed[*r]) {
      const Node& add = g.nodes[*r];
      if (is_op(add, "Add") && add.inputs.size() == 2 && add.outputs.size() == 1 && !add.outputs[0].empty() &&
          passes_impl::runs_here(g, add)) {
        const std::string& other = add.inputs[0] == value ? add.inputs[1] : add.inputs[0];
        if (other != value && !other.empty() && !g.initializers.count(other) &&
            passes_impl::maybe_same_shape(shapes, value, other)) {
          residual = other;
          chain.push_back(*r);
          value = add.outputs[0];
          pattern += "+Add";
        }
      }
    }
    DType dtype = DType::undefined;  // the output's, for Clip's bounds
    if (const auto it = shapes.find(value); it != shapes.end()) {
      dtype = it->second.dtype;
    } else if (const Value* w = passes_impl::constant_of(g, anchor.inputs[1])) {
      dtype = w->dtype();
    }
    const auto act = passes_impl::match_activation(g, readers, claimed, value, dtype);
    if (act) {
      chain.insert(chain.end(), act->nodes.begin(), act->nodes.end());
      value = act->output;
      pattern += "+" + act->name;
    }
    if (chain.size() == 1) continue;

    Node fused;
    fused.op_type = anchor.op_type == "Conv" ? "FusedConv" : "FusedGemm";
    fused.domain = "nabla";
    fused.name = anchor.name;
    fused.attributes = anchor.attributes;
    if (act) {
      fused.attributes["activation"] = act->name;
      if (!act->params.empty()) fused.attributes["activation_params"] = act->params;
    }
    fused.inputs = anchor.inputs;
    if (!residual.empty()) {
      fused.inputs.resize(3);
      fused.inputs.push_back(residual);
    }
    while (!fused.inputs.empty() && fused.inputs.back().empty()) fused.inputs.pop_back();
    fused.outputs = {value};
    for (const std::size_t k : chain) claimed[k] = true;
    fused_at[*std::max_element(chain.begin(), chain.end())] = std::move(fused);
    if (patterns) ++(*patterns)[pattern];
  }
  if (fused_at.empty()) return 0;
  std::vector<Node> nodes;
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    if (const auto it = fused_at.find(k); it != fused_at.end()) {
      nodes.push_back(std::move(it->second));
    } else if (!claimed[k]) {
      nodes.push_back(std::move(g.nodes[k]));
    }
  }
  g.nodes = std::move(nodes);
  g.opsets["nabla"] = 1;
  return static_cast<std::int64_t>(fused_at.size());
}

// Runs the passes until none changes anything: identities, constant
// folding, dead nodes, Conv+BN and bias folding, epilogue fusion. The result
// computes the same outputs (bit for bit, except where BatchNormalization or
// a bias was folded into the weights); `report` gets the counts.
inline Graph optimize(Graph g, OptimizeReport* report = nullptr) {
  g.validate();
  OptimizeReport r;
  constexpr std::int64_t max_rounds = 16;  // each round shrinks the graph; a bound all the same
  while (r.rounds < max_rounds) {
    ++r.rounds;
    std::int64_t changed = 0;
    auto count = [&changed](std::int64_t& total, std::int64_t n) {
      total += n;
      changed += n;
    };
    count(r.identities_removed, remove_identities(g));
    count(r.constants_folded, fold_constants(g));
    const std::int64_t initializers_before = r.initializers_removed;
    count(r.dead_nodes_removed, remove_dead_nodes(g, &r.initializers_removed));
    changed += r.initializers_removed - initializers_before;
    count(r.conv_bn_folded, fold_conv_bn(g));
    count(r.bias_folded, fold_linear_bias(g));
    changed += fuse_epilogues(g, &r.fused);
    if (changed == 0) break;
  }
  if (report) *report = r;
  return g;
}

}  // namespace nabla::graph

// graph::trace: captures one forward pass of an nn::Module<T> through the
// tape and turns the recorded entries into a graph::Graph of ONNX ops
// (opset 17), which graph::Session runs and onnx::save writes. Parameters
// and buffers become initializers under their state_dict names; the example
// becomes the input "input" (first axis symbolic, "batch"), the result
// "output". Needs no ONNX.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/tape.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/value.hpp"
#include "nabla/nn/batchnorm.hpp"
#include "nabla/nn/module.hpp"
#include "nabla/ops/nn.hpp"

namespace nabla::graph {
namespace trace_impl {

inline constexpr std::int64_t trace_opset = 17;

inline Tensor<std::int64_t> int64_vector(const std::vector<std::int64_t>& v) {
  return Tensor<std::int64_t>(Shape{static_cast<std::int64_t>(v.size())}, v);
}

inline std::int64_t product(const Shape& s, std::size_t from, std::size_t to) {
  std::int64_t p = 1;
  for (std::size_t d = from; d < to; ++d) p *= s[d];
  return p;
}

// Every module of the tree with its dotted prefix ("", "0.", "block.1."),
// parents before children.
template <class T>
void collect_modules(nn::Module<T>& m, const std::string& prefix,
                     std::vector<std::pair<std::string, nn::Module<T>*>>& out) {
  out.emplace_back(prefix, &m);
  for (const auto& [name, child] : m.named_children()) collect_modules(*child, prefix + name + ".", out);
}

// Puts every module back in the training mode it had (parents first: train()
// also sets the children, which are restored after).
template <class T>
class ModeRestore {
 public:
  explicit ModeRestore(nn::Module<T>& root) {
    std::vector<std::pair<std::string, nn::Module<T>*>> all;
    collect_modules(root, std::string(), all);
    for (const auto& entry : all) modes_.emplace_back(entry.second, entry.second->is_training());
  }
  ~ModeRestore() {
    for (const auto& [module, training] : modes_) module->train(training);
  }
  ModeRestore(const ModeRestore&) = delete;
  ModeRestore& operator=(const ModeRestore&) = delete;

 private:
  std::vector<std::pair<nn::Module<T>*, bool>> modes_;
};

// Builds the Graph from the tape entries that lead to `output`.
template <class T>
class Tracer {
  using VarNodeT = nabla::detail::VarNode<T>;

 public:
  Tracer(nn::Module<T>& module, const Tape<T>& tape, const VarNodeT* input, const VarNodeT* output)
      : module_(module), tape_(tape), input_(input), output_(output) {}

  Graph build(const Shape& example_shape) {
    graph_.name = module_.name();
    graph_.opsets[""] = trace_opset;
    for (const auto& [name, p] : module_.named_parameters()) parameter_names_.emplace(p.node(), name);
    buffers_ = module_.named_buffers();
    collect_modules(module_, std::string(), modules_);
    batch_ = example_shape.empty() ? -1 : example_shape[0];

    ValueInfo in{"input", dtype_of<T>(), dims_of(example_shape), true};
    graph_.inputs.push_back(in);
    names_.emplace(input_, "input");

    for (const std::size_t i : needed_entries()) emit(tape_.entry(i));

    if (output_ == input_ || !names_.count(output_) || names_.at(output_) != "output") {
      // The module returned its input, a parameter, or an aliased value.
      add_node("Identity", {name_of(output_)}, {"output"});
    }
    graph_.outputs.push_back(ValueInfo{"output", dtype_of<T>(), dims_of(output_->value.shape()), true});
    return std::move(graph_);
  }

 private:
  // Declared shape: the batch axis (the example's first extent) symbolic.
  std::vector<Dim> dims_of(const Shape& shape) const {
    std::vector<Dim> dims;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (d == 0 && shape[0] == batch_) {
        dims.push_back(Dim{-1, "batch"});
      } else {
        dims.push_back(Dim{shape[d], ""});
      }
    }
    return dims;
  }

  bool produced(const VarNodeT* node) const { return node != input_ && tape_.produced_here(node); }

  // The entries `output` depends on, in tape (execution) order.
  std::vector<std::size_t> needed_entries() const {
    std::set<std::size_t> needed;
    std::vector<const VarNodeT*> stack{output_};
    std::set<const VarNodeT*> seen;
    while (!stack.empty()) {
      const VarNodeT* node = stack.back();
      stack.pop_back();
      if (!seen.insert(node).second || !produced(node)) continue;
      const auto i = static_cast<std::size_t>(node->index);
      needed.insert(i);
      const TapeEntry<T>& e = tape_.entry(i);
      for (std::size_t k = 0; k < e.size(); ++k) stack.push_back(e.input_node(k).get());
    }
    return std::vector<std::size_t>(needed.begin(), needed.end());
  }

  std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(counter_++); }

  void add_node(std::string op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                std::map<std::string, Attribute> attributes = {}) {
    Node n;
    n.name = fresh(op);
    n.op_type = std::move(op);
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attributes = std::move(attributes);
    graph_.nodes.push_back(std::move(n));
  }

  std::string constant(const std::string& stem, Value v) {
    std::string name = fresh(stem);
    graph_.initializers.emplace(name, std::move(v));
    return name;
  }
  std::string scalar(T v) { return constant("scalar", Tensor<T>(Shape{}, std::vector<T>{v})); }
  std::string ints(const std::vector<std::int64_t>& v) { return constant("ints", int64_vector(v)); }

  // The value name of a node: a traced value, the input, or a leaf made an
  // initializer (a parameter or buffer under its state_dict name).
  std::string name_of(const VarNodeT* node) {
    if (const auto it = names_.find(node); it != names_.end()) return it->second;
    std::string name;
    if (const auto p = parameter_names_.find(node); p != parameter_names_.end()) {
      name = p->second;
    } else {
      for (const auto& [bname, b] : buffers_) {
        if (b.data() == node->value.data() && b.shape() == node->value.shape() && b.is_contiguous()) name = bname;
      }
      if (name.empty()) name = fresh("constant");
    }
    graph_.initializers.emplace(name, Value(node->value.clone()));
    names_.emplace(node, name);
    return name;
  }

  std::string output_name(const TapeEntry<T>& e) {
    const VarNodeT* out = e.output.get();
    std::string name = out == output_ ? std::string("output") : fresh(std::string(op_name(e.kind)));
    names_[out] = name;
    return name;
  }

  std::string in(const TapeEntry<T>& e, std::size_t k) { return name_of(e.input_node(k).get()); }

  [[noreturn]] static void unsupported(const TapeEntry<T>& e, const std::string& why = "") {
    throw ValueError(nabla::detail::message("trace: op ", op_name(e.kind), " (OpKind::", op_name(e.kind),
                                            ") with input shapes ", shapes_of(e), " cannot be expressed as ONNX ops",
                                            why.empty() ? "" : ": " + why));
  }
  static std::string shapes_of(const TapeEntry<T>& e) {
    std::string s;
    for (std::size_t k = 0; k < e.size(); ++k) s += (k ? ", " : "") + to_string(e.input(k).shape());
    return s;
  }

  // The scalar operand the rules of add(x, c), sub(c, x) and div(c, x) do
  // not store, recovered from an element where x is small (where the
  // rounding of the recorded result hides least of it).
  T recover_scalar(const TapeEntry<T>& e, int how) const {
    const Tensor<T> x = e.input(0).contiguous();
    const Tensor<T> y = e.result().contiguous();
    std::int64_t best = -1;
    double best_score = std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0, n = x.numel(); i < n; ++i) {
      const double xi = static_cast<double>(x.data()[i]);
      const double yi = static_cast<double>(y.data()[i]);
      if (!std::isfinite(xi) || !std::isfinite(yi) || (how == 2 && xi == 0.0)) continue;
      const double score = how == 2 ? std::abs(std::log(std::abs(xi))) : std::abs(xi);
      if (score < best_score) {
        best_score = score;
        best = i;
      }
    }
    if (best < 0) return T{0};  // no usable element: every value of the constant gives this result
    const double xi = static_cast<double>(x.data()[best]);
    const double yi = static_cast<double>(y.data()[best]);
    if (how == 0) return static_cast<T>(yi - xi);  // y = x + c
    if (how == 1) return static_cast<T>(yi + xi);  // y = c - x
    return static_cast<T>(yi * xi);                // y = c / x
  }

  // max_pool2d's rule keeps only the argmax positions, so the window is
  // found among those giving the recorded output shape, and confirmed by
  // recomputing the values and positions. A later rule that stores
  // {kernel, stride, padding} in ints is used directly.
  std::vector<std::int64_t> max_pool_window(const TapeEntry<T>& e) const {
    if (e.ints[0] > 0) return {e.ints[0], e.ints[1] > 0 ? e.ints[1] : e.ints[0], e.ints[2]};
    const Shape& xs = e.input(0).shape();
    const Shape& ys = e.result().shape();
    if (xs.size() != 4 || ys.size() != 4) unsupported(e, "expected 4-D input and output");
    const std::int64_t h = xs[2], w = xs[3];
    std::vector<std::vector<std::int64_t>> candidates;
    for (std::int64_t k = 1; k <= std::max(h, w) + 1; ++k) {
      for (std::int64_t p = 0; 2 * p <= k; ++p) {
        for (std::int64_t s = 1; s <= std::max(k, std::max(h, w)); ++s) {
          if (h + 2 * p < k || w + 2 * p < k) continue;
          if ((h + 2 * p - k) / s + 1 == ys[2] && (w + 2 * p - k) / s + 1 == ys[3]) candidates.push_back({k, s, p});
        }
      }
    }
    // Most likely first: stride = kernel without padding, then small windows.
    std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
      const int ra = a[1] == a[0] && a[2] == 0 ? 0 : 1;
      const int rb = b[1] == b[0] && b[2] == 0 ? 0 : 1;
      return ra < rb;
    });
    const Tensor<std::int64_t> want_idx = e.saved_index.contiguous();
    const Tensor<T> want = e.result().contiguous();
    for (const auto& c : candidates) {
      const auto r = max_pool2d_with_indices(e.input(0), c[0], c[1], c[2]);
      bool same = true;
      for (std::int64_t i = 0, n = want.numel(); same && i < n; ++i) {
        same = r.indices.data()[i] == want_idx.data()[i] && r.values.data()[i] == want.data()[i];
      }
      if (same) return c;
    }
    unsupported(e, "no pooling window reproduces the recorded result");
  }

  // The BatchNorm module whose parameters (or running statistics) an entry used.
  const nn::BatchNormBase<T>* batch_norm_module(const TapeEntry<T>& e, std::string& prefix) const {
    const Tensor<T> mean = e.saved[0].contiguous();
    for (const auto& [p, m] : modules_) {
      const auto* bn = dynamic_cast<const nn::BatchNormBase<T>*>(m);
      if (!bn || !bn->running_mean().defined()) continue;
      bool match = false;
      if (bn->weight().defined()) {
        match = bn->weight().node() == e.input_node(1).get();
      } else if (bn->running_mean().numel() == mean.numel()) {
        match = true;
        for (std::int64_t c = 0; match && c < mean.numel(); ++c) match = bn->running_mean().data()[c] == mean.data()[c];
      }
      if (match) {
        prefix = p;
        return bn;
      }
    }
    return nullptr;
  }

  // The reshape as Flatten (a [rows, cols] result whose rows are the
  // leading axes) or as Reshape with a shape that keeps the batch axis free.
  void emit_reshape(const TapeEntry<T>& e) {
    const Shape& xs = e.input(0).shape();
    const Shape& ys = e.result().shape();
    const std::string x = in(e, 0);
    if (ys.size() == 2) {
      for (std::size_t k = 1; k <= xs.size(); ++k) {
        if (product(xs, 0, k) == ys[0] && product(xs, k, xs.size()) == ys[1] && (k == 1 || xs[0] != 0)) {
          add_node("Flatten", {x}, {output_name(e)}, {{"axis", static_cast<std::int64_t>(k)}});
          return;
        }
      }
    }
    std::vector<std::int64_t> target(ys.begin(), ys.end());
    const bool has_zero = std::find(target.begin(), target.end(), 0) != target.end();
    if (!target.empty() && !has_zero) target[0] = !xs.empty() && xs[0] == ys[0] ? 0 : -1;
    add_node("Reshape", {x, ints(target)}, {output_name(e)});
  }

  void emit(const TapeEntry<T>& e) {
    using A = std::map<std::string, Attribute>;
    auto unary = [&](const char* op, A attrs = {}) { add_node(op, {in(e, 0)}, {output_name(e)}, std::move(attrs)); };
    auto binary = [&](const char* op) { add_node(op, {in(e, 0), in(e, 1)}, {output_name(e)}); };
    const std::size_t n = e.size();
    switch (e.kind) {
      case OpKind::add:
        if (n == 2) return binary("Add");
        return add_node("Add", {in(e, 0), scalar(recover_scalar(e, 0))}, {output_name(e)});
      case OpKind::sub:
        if (n == 2) return binary("Sub");
        return add_node("Sub", {scalar(recover_scalar(e, 1)), in(e, 0)}, {output_name(e)});
      case OpKind::mul:
        if (n == 2) return binary("Mul");
        return add_node("Mul", {in(e, 0), scalar(static_cast<T>(e.reals[0]))}, {output_name(e)});
      case OpKind::div:
        if (n == 2) return binary("Div");
        if (e.uses != 0) return add_node("Div", {scalar(recover_scalar(e, 2)), in(e, 0)}, {output_name(e)});
        return add_node("Div", {in(e, 0), scalar(static_cast<T>(e.reals[0]))}, {output_name(e)});
      case OpKind::pow:
        return binary("Pow");
      case OpKind::pow_scalar:
        return add_node("Pow", {in(e, 0), scalar(static_cast<T>(e.reals[0]))}, {output_name(e)});
      case OpKind::maximum: return binary("Max");
      case OpKind::minimum: return binary("Min");
      case OpKind::neg: return unary("Neg");
      case OpKind::exp: return unary("Exp");
      case OpKind::log: return unary("Log");
      case OpKind::sqrt: return unary("Sqrt");
      case OpKind::abs: return unary("Abs");
      case OpKind::reciprocal: return unary("Reciprocal");
      case OpKind::sin: return unary("Sin");
      case OpKind::cos: return unary("Cos");
      case OpKind::tanh: return unary("Tanh");
      case OpKind::sigmoid: return unary("Sigmoid");
      case OpKind::relu: return unary("Relu");
      case OpKind::softplus: return unary("Softplus");
      case OpKind::leaky_relu: return unary("LeakyRelu", {{"alpha", e.reals[0]}});
      case OpKind::elu: return unary("Elu", {{"alpha", e.reals[0]}});
      case OpKind::square: {
        const std::string x = in(e, 0);
        return add_node("Mul", {x, x}, {output_name(e)});
      }
      case OpKind::rsqrt: {
        const std::string root = fresh("sqrt");
        add_node("Sqrt", {in(e, 0)}, {root});
        return add_node("Reciprocal", {root}, {output_name(e)});
      }
      case OpKind::silu: {
        const std::string x = in(e, 0);
        const std::string s = fresh("sigmoid");
        add_node("Sigmoid", {x}, {s});
        return add_node("Mul", {x, s}, {output_name(e)});
      }
      case OpKind::clamp:
        return add_node("Clip", {in(e, 0), scalar(static_cast<T>(e.reals[0])), scalar(static_cast<T>(e.reals[1]))},
                        {output_name(e)});
      case OpKind::clamp_min:
        return add_node("Clip", {in(e, 0), scalar(static_cast<T>(e.reals[0]))}, {output_name(e)});
      case OpKind::clamp_max:
        return add_node("Clip", {in(e, 0), "", scalar(static_cast<T>(e.reals[0]))}, {output_name(e)});
      case OpKind::matmul:
      case OpKind::bmm:
        return binary("MatMul");
      case OpKind::linear: {  // y = x w^T + b
        std::vector<std::string> inputs{in(e, 0), in(e, 1)};
        if (n == 3) inputs.push_back(in(e, 2));
        return add_node("Gemm", std::move(inputs), {output_name(e)}, {{"transB", std::int64_t{1}}});
      }
      case OpKind::reshape: return emit_reshape(e);
      case OpKind::permute: {
        std::vector<std::int64_t> perm;
        for (std::size_t i = 0; i < e.shape.size(); ++i) {
          perm.push_back(static_cast<std::int64_t>(normalize_axis(e.shape[i], e.shape.size(), "trace")));
        }
        return unary("Transpose", {{"perm", perm}});
      }
      case OpKind::contiguous:
        if (e.output.get() != output_) {
          names_[e.output.get()] = in(e, 0);  // the same values: no node
          return;
        }
        return unary("Identity");
      case OpKind::concat: {
        std::vector<std::string> inputs;
        for (std::size_t k = 0; k < n; ++k) inputs.push_back(in(e, k));
        return add_node("Concat", std::move(inputs), {output_name(e)}, {{"axis", e.ints[0]}});
      }
      case OpKind::stack: {
        std::vector<std::string> inputs;
        const std::string axes = ints({e.ints[0]});
        for (std::size_t k = 0; k < n; ++k) {
          inputs.push_back(fresh("unsqueeze"));
          add_node("Unsqueeze", {in(e, k), axes}, {inputs.back()});
        }
        return add_node("Concat", std::move(inputs), {output_name(e)}, {{"axis", e.ints[0]}});
      }
      case OpKind::slice:
        return add_node("Slice", {in(e, 0), ints({e.ints[1]}), ints({e.ints[2]}), ints({e.ints[0]}), ints({e.ints[3]})},
                        {output_name(e)});
      case OpKind::select:
        return add_node("Gather", {in(e, 0), constant("index", Tensor<std::int64_t>(Shape{}, std::vector<std::int64_t>{e.ints[1]}))},
                        {output_name(e)}, {{"axis", e.ints[0]}});
      case OpKind::expand: {
        // Axes the input already has at full extent stay 1 in the target,
        // so a batch axis is broadcast from whatever the input brings.
        const Shape& xs = e.input(0).shape();
        const Shape& ys = e.result().shape();
        std::vector<std::int64_t> target(ys.begin(), ys.end());
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const std::size_t d = ys.size() - xs.size() + i;
          if (xs[i] == ys[d]) target[d] = 1;
        }
        return add_node("Expand", {in(e, 0), ints(target)}, {output_name(e)});
      }
      case OpKind::softmax: return unary("Softmax", {{"axis", e.ints[0]}});
      case OpKind::log_softmax: return unary("LogSoftmax", {{"axis", e.ints[0]}});
      case OpKind::conv2d: {
        const Shape& ws = e.input(1).shape();
        std::vector<std::string> inputs{in(e, 0), in(e, 1)};
        if (n == 3) inputs.push_back(in(e, 2));
        return add_node("Conv", std::move(inputs), {output_name(e)},
                        {{"kernel_shape", std::vector<std::int64_t>{ws[2], ws[3]}},
                         {"strides", std::vector<std::int64_t>{e.ints[0], e.ints[1]}},
                         {"pads", std::vector<std::int64_t>{e.ints[2], e.ints[3], e.ints[2], e.ints[3]}},
                         {"dilations", std::vector<std::int64_t>{e.ints[4], e.ints[5]}},
                         {"group", e.ints[6]}});
      }
      case OpKind::max_pool2d: {
        const auto w = max_pool_window(e);
        return unary("MaxPool", {{"kernel_shape", std::vector<std::int64_t>{w[0], w[0]}},
                                 {"strides", std::vector<std::int64_t>{w[1], w[1]}},
                                 {"pads", std::vector<std::int64_t>{w[2], w[2], w[2], w[2]}}});
      }
      case OpKind::avg_pool2d: {
        const std::int64_t k = e.ints[0], s = e.ints[1] > 0 ? e.ints[1] : e.ints[0], p = e.ints[2];
        // Padded taps count in the divisor, as PyTorch's default.
        return unary("AveragePool", {{"kernel_shape", std::vector<std::int64_t>{k, k}},
                                     {"strides", std::vector<std::int64_t>{s, s}},
                                     {"pads", std::vector<std::int64_t>{p, p, p, p}},
                                     {"count_include_pad", std::int64_t{1}}});
      }
      case OpKind::adaptive_avg_pool2d: {
        const Shape& xs = e.input(0).shape();
        const Shape& ys = e.result().shape();
        if (ys[2] == 1 && ys[3] == 1) return unary("GlobalAveragePool");
        if (ys[2] > 0 && ys[3] > 0 && xs[2] % ys[2] == 0 && xs[3] % ys[3] == 0) {
          const std::int64_t kh = xs[2] / ys[2], kw = xs[3] / ys[3];
          return unary("AveragePool", {{"kernel_shape", std::vector<std::int64_t>{kh, kw}},
                                       {"strides", std::vector<std::int64_t>{kh, kw}}});
        }
        unsupported(e, "the output size " + to_string(ys) + " does not divide the input's (uneven windows)");
      }
      case OpKind::dropout:
        unsupported(e, "dropout in training mode (trace runs the module in eval mode; a functional dropout "
                       "called with training = true is random)");
      case OpKind::batch_norm: {
        if (e.ints[0] != 0) unsupported(e, "batch statistics (a batch norm without running statistics)");
        std::string prefix;
        const nn::BatchNormBase<T>* bn = batch_norm_module(e, prefix);
        std::string mean, var;
        double eps = 0.0;
        if (bn) {
          mean = buffer(prefix + "running_mean", bn->running_mean());
          var = buffer(prefix + "running_var", bn->running_var());
          eps = bn->options().eps();
        } else {
          // A functional batch_norm: its statistics as recorded (mean and
          // 1/sqrt(var + eps)), with eps folded into the variance.
          const Tensor<T> invstd = e.saved[1].contiguous();
          Tensor<T> v = Tensor<T>::empty(invstd.shape());
          for (std::int64_t c = 0; c < v.numel(); ++c) {
            const double is = static_cast<double>(invstd.data()[c]);
            v.data()[c] = static_cast<T>(1.0 / (is * is));
          }
          mean = constant("mean", e.saved[0].clone());
          var = constant("var", v);
        }
        return add_node("BatchNormalization", {in(e, 0), in(e, 1), in(e, 2), mean, var}, {output_name(e)},
                        {{"epsilon", eps}});
      }
      default:
        unsupported(e);
    }
  }

  std::string buffer(const std::string& name, const Tensor<T>& value) {
    graph_.initializers.emplace(name, Value(value.clone()));
    return name;
  }

  nn::Module<T>& module_;
  const Tape<T>& tape_;
  const VarNodeT* input_;
  const VarNodeT* output_;
  Graph graph_;
  std::unordered_map<const VarNodeT*, std::string> names_;
  std::unordered_map<const VarNodeT*, std::string> parameter_names_;
  std::vector<std::pair<std::string, Tensor<T>>> buffers_;
  std::vector<std::pair<std::string, nn::Module<T>*>> modules_;
  std::int64_t batch_ = -1;
  std::int64_t counter_ = 0;
};

}  // namespace trace_impl

// Runs `module` once on `example_input` (in eval mode, recording on this
// thread's tape) and returns the computation as a Graph: input "input" with
// the example's shape (first axis "batch", so other batch sizes run),
// output "output", parameters and buffers as initializers named as in
// state_dict(). The module's training modes and the tape are left as they
// were. Throws a ValueError naming any op that has no ONNX form.
template <class T>
Graph trace(nn::Module<T>& module, const Tensor<T>& example_input) {
  if (!example_input.defined()) throw ValueError("trace: the example input is undefined");
  Tape<T>& tape = Tape<T>::current();
  const std::size_t entries_before = tape.size();
  Graph g;
  try {
    trace_impl::ModeRestore<T> restore(module);
    module.eval();
    EnableGradGuard record;
    // A requires-grad input makes every op that depends on it record.
    const Var<T> x(example_input, true);
    const Var<T> y = module(x);
    if (!y.defined()) throw ValueError("trace: the module returned an undefined value");
    g = trace_impl::Tracer<T>(module, tape, x.node(), y.node()).build(example_input.shape());
  } catch (...) {
    if (entries_before == 0) tape.clear();
    throw;
  }
  // The traced entries were freed as their values were dropped above; what
  // a module kept hold of goes too when the tape held nothing before.
  if (entries_before == 0) {
    tape.clear();
  } else if (tape.size() > entries_before) {
    tape.collect();
  }
  return g;
}

template <class T>
Graph trace(nn::Module<T>& module, const Var<T>& example_input) {
  return trace(module, example_input.value());
}

}  // namespace nabla::graph

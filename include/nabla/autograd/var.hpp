// Var<T>: a tensor value that takes part in automatic differentiation, and
// the helpers that record ops on the tape.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/tape.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla {

template <class T>
class Var {
 public:
  using value_type = T;

  // An undefined Var.
  Var() = default;

  // A leaf holding `value`; gradients reach it when `requires_grad`.
  Var(Tensor<T> value, bool requires_grad = true) {  // NOLINT: implicit from Tensor is intended
    if (!value.defined()) throw ValueError("Var: the value tensor is undefined");
    node_ = detail::NodeRef<T>::make(std::move(value), requires_grad);
  }

  // Wraps an existing node (used by the recording helpers).
  explicit Var(detail::NodeRef<T> node) noexcept : node_(std::move(node)) {}

  bool defined() const noexcept { return static_cast<bool>(node_); }
  const Tensor<T>& value() const { return checked()->value; }
  // The accumulated gradient: undefined until backward() reaches this value.
  const Tensor<T>& grad() const { return checked()->grad; }
  const Shape& shape() const { return value().shape(); }
  std::int64_t numel() const { return value().numel(); }
  std::size_t ndim() const { return value().ndim(); }
  std::int64_t size(std::int64_t axis) const { return value().size(axis); }
  T item() const { return value().item(); }

  bool requires_grad() const { return checked()->requires_grad; }
  bool is_leaf() const { return checked()->is_leaf; }
  // Turns gradient tracking of a leaf on or off.
  Var& requires_grad_(bool on = true) {
    if (!checked()->is_leaf) {
      throw AutogradError("requires_grad_: only leaves can change requires_grad; use detach() on a computed value");
    }
    node_->requires_grad = on;
    return *this;
  }
  // Keeps the gradient of this computed (non-leaf) value after backward().
  Var& retain_grad() {
    checked()->retain_grad = true;
    return *this;
  }

  // Sets or clears (undefined tensor) the stored gradient.
  void set_grad(Tensor<T> grad) const {
    if (grad.defined() && !(grad.shape() == value().shape())) {
      throw ShapeError(detail::message("set_grad: gradient shape ", to_string(grad.shape()),
                                       " does not match value shape ", to_string(value().shape())));
    }
    checked()->grad = std::move(grad);
  }
  void zero_grad() const { checked()->grad = Tensor<T>(); }

  // A label shown in error messages about the op that produced this value.
  Var& set_label(std::string label) {
    checked()->label = std::move(label);
    return *this;
  }
  const std::string& label() const { return checked()->label; }

  // A new leaf sharing this value, cut off from the graph.
  Var detach() const { return Var(value(), false); }

  // Reverse sweep from this one-element value: gradients accumulate into
  // every leaf that requires them. The graph is freed unless retain_graph.
  void backward(bool retain_graph = false) const {
    if (numel() != 1) {
      throw AutogradError(detail::message("backward: expected a one-element value, got shape ", to_string(shape()),
                                          "; pass a gradient of the same shape: backward(grad_output)"));
    }
    backward(ones<T>(shape()), retain_graph);
  }
  // Reverse sweep seeded with `grad_output` (same shape as this value).
  void backward(const Tensor<T>& grad_output, bool retain_graph = false) const {
    require_graph("backward");
    if (!(grad_output.shape() == shape())) {
      throw ShapeError(detail::message("backward: grad_output shape ", to_string(grad_output.shape()),
                                       " does not match value shape ", to_string(shape())));
    }
    Tape<T>::current().backward(node_.get(), grad_output, retain_graph, nullptr);
  }

  // v[i]: the sub-tensor at index i of the first axis (recorded as select).
  Var operator[](std::int64_t i) const { return detail::methods::method_select(*this, 0, i); }

  NABLA_TENSOR_METHODS

  // v += u is v = v + u: the handle moves to the new value and the old one
  // stays on the tape, so accumulating a loss (loss += term) is recorded as
  // PyTorch records it. Other handles to the old value keep seeing it
  // (PyTorch would change them in place).
  template <class U>
  Var& operator+=(const U& other) { return *this = *this + other; }
  template <class U>
  Var& operator-=(const U& other) { return *this = *this - other; }
  template <class U>
  Var& operator*=(const U& other) { return *this = *this * other; }
  template <class U>
  Var& operator/=(const U& other) { return *this = *this / other; }

  bool is_same(const Var& other) const noexcept { return node_.get() == other.node_.get(); }
  detail::VarNode<T>* node() const noexcept { return node_.get(); }
  const detail::NodeRef<T>& node_ref() const noexcept { return node_; }

  void require_graph(const char* op) const {
    if (!checked()->requires_grad) {
      throw AutogradError(detail::message(op, ": the value does not require grad (no input requires grad, "
                                          "or it was computed under NoGradGuard)"));
    }
  }

 private:
  detail::VarNode<T>* checked() const {
    if (!node_) throw ValueError("Var: use of an undefined Var");
    return node_.get();
  }

  detail::NodeRef<T> node_;
};

// Gradients of `output` (one element) with respect to `inputs`, returned in
// order, without touching any .grad(). An input that does not influence the
// output gets a zero gradient.
template <class T>
std::vector<Tensor<T>> grad(const Var<T>& output, const std::vector<Var<T>>& inputs, bool retain_graph = false) {
  if (output.numel() != 1) {
    throw AutogradError(detail::message("grad: expected a one-element output, got shape ", to_string(output.shape())));
  }
  output.require_graph("grad");
  std::vector<detail::VarNode<T>*> keep;
  std::vector<Tensor<T>> saved;
  for (const Var<T>& in : inputs) {
    if (!in.requires_grad()) {
      throw AutogradError(detail::message("grad: input of shape ", to_string(in.shape()), " does not require grad"));
    }
    keep.push_back(in.node());
    saved.push_back(in.grad());
    in.node()->grad = Tensor<T>();
  }
  std::vector<Tensor<T>> out;
  try {
    if (output.is_leaf()) {
      output.node()->grad = ones<T>(output.shape());
    } else {
      Tape<T>::current().backward(output.node(), ones<T>(output.shape()), retain_graph, &keep);
    }
  } catch (...) {
    for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i].node()->grad = saved[i];
    throw;
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor<T> g = inputs[i].grad();
    out.push_back(g.defined() ? g : zeros<T>(inputs[i].shape()));
    inputs[i].node()->grad = saved[i];
  }
  return out;
}

namespace detail {

// True when an op on these inputs must be recorded.
template <class T, class... Vars>
bool should_record(const Vars&... inputs) {
  return GradMode::is_enabled() && (inputs.requires_grad() || ...);
}

// Throws when anomaly mode is on and an op's output is not finite.
template <class T, class... Vars>
void check_forward(OpKind kind, const Tensor<T>& out, const Vars&... inputs) {
  std::int64_t where = 0;
  const char* bad = first_non_finite(out, where);
  if (!bad) return;
  std::string shapes;
  std::string labels;
  ((shapes += (shapes.empty() ? "" : ", ") + to_string(inputs.shape()),
    labels += inputs.label().empty() ? "" : (labels.empty() ? "" : ", ") + inputs.label()), ...);
  const auto position = static_cast<std::int64_t>(Tape<T>::current().size());
  throw AutogradError(detail::message("anomaly: forward of op #", position, " (", op_name(kind), ") with input shapes ",
                                      shapes, labels.empty() ? "" : " (labels: " + labels + ")", " produced ", bad,
                                      " at element ", where));
}

// Records an op: `out` is its value, `backward` its rule, and `setup` fills
// the entry (saved values, parameters). Returns the result Var, which
// requires grad only when some input does.
template <class T, class Setup, class... Vars>
Var<T> record(OpKind kind, Tensor<T> out, typename TapeEntry<T>::Backward backward, Setup&& setup,
              const Vars&... inputs) {
  static_assert(sizeof...(Vars) <= TapeEntry<T>::inline_inputs, "use record_many for more inputs");
  if (AnomalyMode::is_enabled()) check_forward(kind, out, inputs...);
  if (!should_record<T>(inputs...)) return Var<T>(std::move(out), false);
  NodeRef<T> node = NodeRef<T>::make(std::move(out), true);
  TapeEntry<T>& e = Tape<T>::current().push(kind, backward, node);
  std::size_t k = 0;
  ((e.inputs[k++] = inputs.node_ref()), ...);
  e.input_count = sizeof...(Vars);
  setup(e);
  for (std::size_t i = 0; i < e.input_count; ++i) {
    if ((e.uses >> i) & 1U) e.versions[i] = e.input(i).version();
  }
  if (e.uses & TapeEntry<T>::uses_output) e.versions[TapeEntry<T>::inline_inputs] = e.result().version();
  return Var<T>(std::move(node));
}

// record() for a list of inputs (concat, stack, custom functions).
template <class T, class Setup>
Var<T> record_many(OpKind kind, Tensor<T> out, typename TapeEntry<T>::Backward backward, Setup&& setup,
                   const std::vector<Var<T>>& inputs) {
  if (AnomalyMode::is_enabled()) check_forward(kind, out);
  bool any = false;
  for (const auto& v : inputs) any = any || v.requires_grad();
  if (!GradMode::is_enabled() || !any) return Var<T>(std::move(out), false);
  NodeRef<T> node = NodeRef<T>::make(std::move(out), true);
  TapeEntry<T>& e = Tape<T>::current().push(kind, backward, node);
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (k < TapeEntry<T>::inline_inputs) {
      e.inputs[k] = inputs[k].node_ref();
    } else {
      e.more_inputs.push_back(inputs[k].node_ref());
    }
  }
  e.input_count = inputs.size();
  setup(e);
  for (std::size_t i = 0; i < std::min(e.input_count, TapeEntry<T>::inline_inputs); ++i) {
    if ((e.uses >> i) & 1U) e.versions[i] = e.input(i).version();
  }
  if (e.uses & TapeEntry<T>::uses_output) e.versions[TapeEntry<T>::inline_inputs] = e.result().version();
  return Var<T>(std::move(node));
}

// A setup that saves nothing.
struct NoSetup {
  template <class E>
  void operator()(E&) const noexcept {}
};

}  // namespace detail
}  // namespace nabla

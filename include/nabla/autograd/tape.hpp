// The tape: value nodes, one entry per recorded op (in execution order, so
// already topologically sorted), and the reverse sweep that runs the rules.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "nabla/autograd/anomaly.hpp"
#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/op_kind.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/storage.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla {

template <class T>
class Tape;

namespace detail {

// One value in a computation: what Var<T> handles point to.
template <class T>
struct VarNode {
  Tensor<T> value;
  Tensor<T> grad;
  std::atomic<std::int32_t> refs{1};
  bool requires_grad = false;
  bool is_leaf = true;
  bool retain_grad = false;
  Tape<T>* tape = nullptr;  // the tape holding the op that produced it
  std::uint64_t epoch = 0;  // that tape's epoch when it was produced
  std::int64_t index = -1;  // its entry on that tape
  std::uint64_t sweep = 0;  // the backward sweep that last gave it a gradient
  std::string label;        // optional user label, shown in anomaly errors
};

// Intrusive shared pointer to a VarNode. Nodes come from the caching
// allocator, so a steady-state step creates them without touching the heap.
template <class T>
class NodeRef {
 public:
  NodeRef() = default;
  explicit NodeRef(VarNode<T>* node) noexcept : node_(node) {}
  static NodeRef make(Tensor<T> value, bool requires_grad) {
    void* memory = CachingAllocator::instance().allocate(sizeof(VarNode<T>));
    auto* node = new (memory) VarNode<T>();
    node->value = std::move(value);
    node->requires_grad = requires_grad;
    return NodeRef(node);
  }
  NodeRef(const NodeRef& other) noexcept : node_(other.node_) {
    if (node_) node_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  NodeRef(NodeRef&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  NodeRef& operator=(const NodeRef& other) noexcept {
    NodeRef(other).swap(*this);
    return *this;
  }
  NodeRef& operator=(NodeRef&& other) noexcept {
    NodeRef(std::move(other)).swap(*this);
    return *this;
  }
  ~NodeRef() { reset(); }
  void swap(NodeRef& other) noexcept { std::swap(node_, other.node_); }
  void reset() noexcept {
    // Cleared first: the tape, called back below, must not see this handle.
    VarNode<T>* node = std::exchange(node_, nullptr);
    if (!node) return;
    const std::int32_t before = node->refs.fetch_sub(1, std::memory_order_acq_rel);
    if (before == 1) {
      node->~VarNode<T>();
      CachingAllocator::instance().deallocate(node, sizeof(VarNode<T>));
    } else if (before == 2 && node->tape) {
      // One holder left: if it is the tape's newest entry, nobody can use
      // that entry any more (a dropped result), so the tape frees it now.
      release_if_dropped(node);
    }
  }
  VarNode<T>* get() const noexcept { return node_; }
  VarNode<T>* operator->() const noexcept { return node_; }
  explicit operator bool() const noexcept { return node_ != nullptr; }
  std::int32_t use_count() const noexcept { return node_ ? node_->refs.load(std::memory_order_relaxed) : 0; }

 private:
  VarNode<T>* node_ = nullptr;
};

// Adds `g` into node->grad. A stored gradient may be shared with other
// nodes, so it is only updated in place when this node owns it alone.
template <class T>
void accumulate_grad(VarNode<T>* node, Tensor<T> g);

// Called when `node`, produced on a tape, has one reference left.
template <class T>
void release_if_dropped(VarNode<T>* node) noexcept;

}  // namespace detail

// One recorded op: its kind, its output and inputs, what its backward rule
// needs, and the rule itself (a plain function pointer: no allocation).
template <class T>
struct TapeEntry {
  using Backward = void (*)(TapeEntry& entry, const Tensor<T>& grad_output);
  static constexpr std::size_t inline_inputs = 3;
  static constexpr std::uint8_t uses_output = 1U << 7;

  OpKind kind = OpKind::custom;
  Backward backward = nullptr;  // null once the entry is freed
  detail::NodeRef<T> output;
  std::array<detail::NodeRef<T>, inline_inputs> inputs;
  std::vector<detail::NodeRef<T>> more_inputs;  // concat/stack/custom with many inputs
  std::size_t input_count = 0;
  std::array<Tensor<T>, 2> saved;  // extra tensors a rule keeps (masks, ...)
  Tensor<std::int64_t> saved_index;  // argmax positions, class labels
  std::array<std::int64_t, 8> ints{};
  std::array<double, 2> reals{};
  Shape shape;                      // a shape a rule needs (e.g. the input's)
  std::shared_ptr<void> extra;      // state of custom functions
  // Which values the rule reads (bit k: input k, bit 7: output), with their
  // versions at record time, so in-place edits before backward are caught.
  std::uint8_t uses = 0;
  std::array<std::uint64_t, inline_inputs + 1> versions{};

  std::size_t size() const noexcept { return input_count; }
  const detail::NodeRef<T>& input_node(std::size_t k) const {
    return k < inline_inputs ? inputs[k] : more_inputs[k - inline_inputs];
  }
  const Tensor<T>& input(std::size_t k) const { return input_node(k)->value; }
  const Tensor<T>& result() const { return output->value; }
  bool needs_grad(std::size_t k) const { return input_node(k)->requires_grad; }
  // Adds a gradient for input k (ignored when that input needs none).
  void accumulate(std::size_t k, Tensor<T> g) const {
    const auto& node = input_node(k);
    if (!node->requires_grad) return;
    if (AnomalyMode::is_enabled()) check_gradient(k, g);
    detail::accumulate_grad(node.get(), std::move(g));
  }
  // "op #3 (matmul) with inputs [64, 784], [784, 256] (labels: ...)".
  std::string describe() const {
    std::string out = "op #" + std::to_string(output ? output->index : -1) + " (" + std::string(op_name(kind)) + ")";
    out += " with input shapes ";
    std::string labels;
    for (std::size_t i = 0; i < input_count; ++i) {
      if (i) out += ", ";
      out += to_string(input(i).shape());
      if (!input_node(i)->label.empty()) labels += (labels.empty() ? "" : ", ") + input_node(i)->label;
    }
    if (output && !output->label.empty()) labels += (labels.empty() ? "output " : ", output ") + output->label;
    if (!labels.empty()) out += " (labels: " + labels + ")";
    return out;
  }
  void check_gradient(std::size_t k, const Tensor<T>& g) const {
    std::int64_t where = 0;
    if (const char* bad = detail::first_non_finite(g, where)) {
      throw AutogradError(detail::message("anomaly: backward of ", describe(), " produced ", bad,
                                          " in the gradient of input ", k, " at element ", where));
    }
  }
  void release() {
    backward = nullptr;
    output.reset();
    for (auto& in : inputs) in.reset();
    more_inputs.clear();
    for (auto& s : saved) s = Tensor<T>();
    saved_index = Tensor<std::int64_t>();
    extra.reset();
  }
};

// The recording of one thread's computation for element type T. Entries are
// appended in execution order; backward walks them in reverse.
template <class T>
class Tape {
 public:
  // This thread's tape (tapes are per thread, like grad mode).
  static Tape& current() {
    thread_local Tape tape;
    return tape;
  }

  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t live_entries() const noexcept { return live_; }
  std::uint64_t epoch() const noexcept { return epoch_; }
  // Identifies the running backward sweep; gradients that intermediate values
  // hold from an earlier (perhaps aborted) sweep are ignored.
  std::uint64_t sweep() const noexcept { return sweep_; }
  const TapeEntry<T>& entry(std::size_t i) const { return entries_[i]; }

  // Drops every entry: values recorded so far can no longer be differentiated.
  void clear() {
    const bool was_releasing = std::exchange(releasing_, true);
    entries_.clear();  // keeps the capacity: the next step reuses it
    releasing_ = was_releasing;
    live_ = 0;
    ++epoch_;
  }

  // Appends an entry producing `output`; the caller fills in the rest.
  TapeEntry<T>& push(OpKind kind, typename TapeEntry<T>::Backward backward, const detail::NodeRef<T>& output) {
    if (entries_.size() >= collect_at_) collect();
    TapeEntry<T>& e = entries_.emplace_back();
    e.kind = kind;
    e.backward = backward;
    e.output = output;
    output->tape = this;
    output->epoch = epoch_;
    output->index = static_cast<std::int64_t>(entries_.size() - 1);
    output->is_leaf = false;
    ++live_;
    return e;
  }

  // True when `node` was produced by a live entry of this tape.
  bool produced_here(const detail::VarNode<T>* node) const noexcept {
    return node->tape == this && node->epoch == epoch_ && node->index >= 0 &&
           static_cast<std::size_t>(node->index) < entries_.size() &&
           entries_[static_cast<std::size_t>(node->index)].output.get() == node &&
           entries_[static_cast<std::size_t>(node->index)].backward != nullptr;
  }

  // Frees entries whose output nobody can reach any more (only the tape holds
  // it), newest first so that freeing one can free its inputs' entries, then
  // closes the gaps: forward passes that never call backward (evaluation
  // without a NoGradGuard) would otherwise leave freed entries in front of
  // live ones, and the tape, with the next collection ever later, would grow
  // without bound.
  void collect() {
    const bool was_releasing = std::exchange(releasing_, true);
    for (std::size_t i = entries_.size(); i-- > 0;) {
      TapeEntry<T>& e = entries_[i];
      if (e.backward && e.output.use_count() == 1) {
        e.release();
        --live_;
      }
    }
    compact();
    collect_at_ = std::max<std::size_t>(min_collect_, 2 * entries_.size());
    releasing_ = was_releasing;
  }

  // Frees the newest entries whose outputs only the tape still holds, newest
  // first, so a forward pass whose result is dropped (evaluation without a
  // NoGradGuard) frees its whole graph at once, as PyTorch does; entries
  // under a value the user still holds stay.
  void release_dropped_tail() noexcept {
    if (releasing_) return;  // freeing an entry drops its inputs, which calls back here
    releasing_ = true;
    while (!entries_.empty()) {
      TapeEntry<T>& e = entries_.back();
      if (e.backward) {
        if (e.output.use_count() != 1) break;
        e.release();
        --live_;
      }
      entries_.pop_back();
    }
    if (entries_.empty()) {
      live_ = 0;
      ++epoch_;
    }
    releasing_ = false;
  }

  // True when `node` is the output of the newest entry.
  bool is_newest(const detail::VarNode<T>* node) const noexcept {
    return !entries_.empty() && entries_.back().output.get() == node;
  }

  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  // Entries destroyed with the tape must not call back into it.
  ~Tape() { releasing_ = true; }

  // Runs the reverse sweep from `root` seeded with `seed`.
  void backward(detail::VarNode<T>* root, Tensor<T> seed, bool retain_graph, const std::vector<detail::VarNode<T>*>* keep);

 private:
  // Drops freed entries, keeping the order of the live ones (their outputs
  // learn their new positions).
  void compact() {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].backward == nullptr) continue;
      if (kept != i) {
        entries_[kept] = std::move(entries_[i]);
        entries_[kept].output->index = static_cast<std::int64_t>(kept);
      }
      ++kept;
    }
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(kept), entries_.end());
    if (entries_.empty()) {
      live_ = 0;
      ++epoch_;
    }
  }

  static constexpr std::size_t min_collect_ = 4096;
  std::vector<TapeEntry<T>> entries_;
  std::size_t live_ = 0;
  std::size_t collect_at_ = min_collect_;
  std::uint64_t epoch_ = 1;
  std::uint64_t sweep_ = 0;
  bool releasing_ = false;
};

namespace detail {

template <class T>
void release_if_dropped(VarNode<T>* node) noexcept {
  // Only this thread's tape: another thread's is not ours to touch.
  Tape<T>& tape = Tape<T>::current();
  if (node->tape == &tape && tape.is_newest(node)) tape.release_dropped_tail();
}

template <class T>
void accumulate_grad(VarNode<T>* node, Tensor<T> g) {
  if (!(g.shape() == node->value.shape())) {
    throw AutogradError(detail::message("backward: a gradient of shape ", to_string(g.shape()),
                                        " reached a value of shape ", to_string(node->value.shape()),
                                        " (a backward rule returned the wrong shape)"));
  }
  if (!node->is_leaf && node->tape && node->sweep != node->tape->sweep()) {
    node->grad = Tensor<T>();  // left over from an earlier sweep
    node->sweep = node->tape->sweep();
  }
  if (!node->grad.defined()) {
    // A leaf keeps its gradient across steps and users may scale it in
    // place, so it must own its buffer; intermediate gradients may share.
    if (node->is_leaf && (g.storage().use_count() > 1 || !g.is_contiguous())) g = g.clone();
    node->grad = std::move(g);
    return;
  }
  Tensor<T>& acc = node->grad;
  if (acc.storage().use_count() == 1 && acc.is_contiguous() && g.is_contiguous()) {
    T* a = acc.data();
    const T* b = g.data();
    for (std::int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
    return;
  }
  Tensor<T> sum = acc.clone();
  T* a = sum.data();
  const Tensor<T> gc = g.contiguous();
  const T* b = gc.data();
  for (std::int64_t i = 0, n = sum.numel(); i < n; ++i) a[i] += b[i];
  acc = std::move(sum);
}

}  // namespace detail

template <class T>
void Tape<T>::backward(detail::VarNode<T>* root, Tensor<T> seed, bool retain_graph,
                       const std::vector<detail::VarNode<T>*>* keep) {
  if (root->is_leaf) {
    detail::accumulate_grad(root, std::move(seed));
    return;
  }
  if (root->tape != this) {
    throw AutogradError("backward: this value was recorded on another thread's tape; tapes are per thread");
  }
  if (!produced_here(root)) {
    throw AutogradError(
        "backward: the graph of this value was already freed (by an earlier backward() or Tape::clear()); "
        "pass retain_graph = true to the first backward() to run it again");
  }
  auto kept = [keep](const detail::VarNode<T>* node) {
    if (!keep) return false;
    for (const auto* k : *keep) {
      if (k == node) return true;
    }
    return false;
  };
  // Entries freed during the sweep must not pop the tape under it.
  struct Guard {
    bool& flag;
    bool saved;
    ~Guard() { flag = saved; }
  } guard{releasing_, std::exchange(releasing_, true)};
  ++sweep_;
  root->grad = std::move(seed);
  root->sweep = sweep_;
  for (std::size_t i = static_cast<std::size_t>(root->index) + 1; i-- > 0;) {
    TapeEntry<T>& e = entries_[i];
    detail::VarNode<T>* out = e.output.get();
    if (!out || out->sweep != sweep_ || !out->grad.defined()) continue;
    if (!e.backward) {
      throw AutogradError(detail::message("backward: op #", i, " (", op_name(e.kind),
                                          ") was already freed by an earlier backward(); pass retain_graph = true"));
    }
    for (std::size_t k = 0; k <= TapeEntry<T>::inline_inputs; ++k) {
      if (((e.uses >> (k == TapeEntry<T>::inline_inputs ? 7 : k)) & 1U) == 0) continue;
      if (k < TapeEntry<T>::inline_inputs && k >= e.input_count) continue;
      const Tensor<T>& v = k == TapeEntry<T>::inline_inputs ? e.result() : e.input(k);
      if (v.version() != e.versions[k]) {
        throw AutogradError(detail::message(
            "backward: op #", i, " (", op_name(e.kind), ") needs its ",
            k == TapeEntry<T>::inline_inputs ? std::string("output") : "input " + std::to_string(k), " of shape ",
            to_string(v.shape()), ", which was modified in place after it was recorded (version ", e.versions[k],
            ", now ", v.version(), ")"));
      }
    }
    // Inputs that are results of freed graphs cannot pass gradients on.
    for (std::size_t k = 0; k < e.input_count; ++k) {
      const detail::VarNode<T>* in = e.input_node(k).get();
      if (in->requires_grad && !in->is_leaf && !produced_here(in)) {
        throw AutogradError(detail::message("backward: input ", k, " of op #", i, " (", op_name(e.kind),
                                            ") comes from a graph that was already freed; detach() it or pass "
                                            "retain_graph = true to the earlier backward()"));
      }
    }
    const bool keep_grad = out->retain_grad || kept(out);
    Tensor<T> gy = keep_grad ? out->grad : std::move(out->grad);
    if (!keep_grad) out->grad = Tensor<T>();
    e.backward(e, gy);
    if (!retain_graph) {
      e.release();
      --live_;
    }
  }
  if (!retain_graph) collect();
}

}  // namespace nabla

// graph::Session<T>: runs a Graph. Built once (graph checked, every op's
// kernel built, value lifetimes planned) and then immutable, so run() may be
// called from many threads at once; each run keeps its values in its own
// slots and frees each one after its last reader.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/kernel.hpp"
#include "nabla/graph/passes.hpp"
#include "nabla/graph/registry.hpp"
#include "nabla/kernels/parallel.hpp"

namespace nabla::graph {

class SessionOptions {
 public:
  // Threads each run may use for its kernels (OpenMP); results do not
  // depend on it.
  SessionOptions& threads(int n) {
    if (n < 1) throw ValueError(nabla::detail::message("SessionOptions: threads must be at least 1, got ", n));
    threads_ = n;
    return *this;
  }
  int threads() const noexcept { return threads_; }
  // Graph passes before the kernels are built (graph/passes.hpp: identity
  // and dead-node removal, constant and Shape folding, Conv+BN folding,
  // Conv/Gemm epilogue fusion). On by default; off runs the graph as given.
  SessionOptions& optimize(bool on) {
    optimize_ = on;
    return *this;
  }
  bool optimize() const noexcept { return optimize_; }

 private:
  int threads_ = 1;
  bool optimize_ = true;
};

// Called after each node runs with the node and its input and output values
// (omitted optional inputs and unused outputs are undefined Values); tools use
// it to count FLOPs or time nodes. Session::run_values takes one optionally.
using NodeObserver = std::function<void(const Node&, const std::vector<Value>& inputs, const std::vector<Value>& outputs)>;

template <class T>
class Session {
 public:
  explicit Session(Graph graph, SessionOptions options = {}) : graph_(std::move(graph)), options_(options) {
    graph_.validate();
    check_supported(graph_);
    if (options_.optimize()) graph_ = graph::optimize(std::move(graph_), &report_);
    // Subgraphs' reads of this graph's values become explicit node inputs.
    for (Node& node : graph_.nodes) {
      for (auto& name : node.captured_names()) node.inputs.push_back(std::move(name));
    }
    graph_.validate();
    plan();
  }

  // What the graph passes did (all zero with optimize(false)).
  const OptimizeReport& optimize_report() const noexcept { return report_; }

  const std::vector<std::string>& input_names() const noexcept { return input_names_; }
  const std::vector<std::string>& output_names() const noexcept { return output_names_; }
  // The graph as it runs: optimized, and with If nodes reading their
  // branches' captured values as extra inputs (so not for onnx::save).
  const Graph& graph() const noexcept { return graph_; }
  const SessionOptions& options() const noexcept { return options_; }

  // Inputs in the graph's order; outputs in the graph's order, converted to
  // T (use run_values for outputs of other dtypes, such as int64 labels).
  std::vector<Tensor<T>> run(const std::vector<Tensor<T>>& inputs) const {
    std::vector<Value> in(inputs.begin(), inputs.end());
    std::vector<Value> out = run_values(in);
    std::vector<Tensor<T>> result;
    result.reserve(out.size());
    for (const Value& v : out) result.push_back(v.to<T>());
    return result;
  }

  // Inputs by name (every graph input must be given); outputs by name.
  std::map<std::string, Tensor<T>> run(const std::map<std::string, Tensor<T>>& inputs) const {
    std::vector<Value> in(input_names_.size());
    for (const auto& [name, tensor] : inputs) {
      std::size_t k = 0;
      while (k < input_names_.size() && input_names_[k] != name) ++k;
      if (k == input_names_.size()) {
        throw ValueError(nabla::detail::message("Session::run: the graph has no input named '", name, "' (inputs: ",
                                                join(input_names_), ")"));
      }
      in[k] = tensor;
    }
    for (std::size_t k = 0; k < in.size(); ++k) {
      if (!in[k].defined()) throw ValueError(nabla::detail::message("Session::run: input '", input_names_[k], "' is missing"));
    }
    const std::vector<Value> out = run_values(in);
    std::map<std::string, Tensor<T>> result;
    for (std::size_t k = 0; k < out.size(); ++k) result[output_names_[k]] = out[k].to<T>();
    return result;
  }

  // The general form: values of any dtype in and out. `observe`, when given,
  // sees every node after it runs (an empty one costs a test per node).
  std::vector<Value> run_values(const std::vector<Value>& inputs, const NodeObserver& observe = {}) const {
    std::vector<Value> result;
    run_values(inputs, result, observe);
    return result;
  }

  // The same, into `outputs` (resized to the graph's output count): with an
  // `outputs` kept from run to run, a steady-state run of a model whose
  // kernels allocate nothing makes no heap allocation (tensors come from the
  // caching allocator, the run's value slots from a per-Session pool).
  void run_values(const std::vector<Value>& inputs, std::vector<Value>& outputs, const NodeObserver& observe = {}) const {
    if (inputs.size() != input_slots_.size()) {
      throw ValueError(nabla::detail::message("Session::run: the graph takes ", input_slots_.size(), " inputs (",
                                              join(input_names_), "), got ", inputs.size()));
    }
    for (std::size_t k = 0; k < inputs.size(); ++k) check_input(k, inputs[k]);
    const int saved_threads = get_num_threads();
    set_num_threads(options_.threads());
    struct Restore {
      int n;
      ~Restore() { set_num_threads(n); }
    } restore{saved_threads};

    ScratchLease lease(*this);
    std::vector<Value>& slots = lease.scratch->slots;
    std::vector<Value>& in = lease.scratch->in;
    std::vector<Value>& out = lease.scratch->out;
    slots = constants_;  // copies into the reused buffer: no allocation once sized
    for (std::size_t k = 0; k < inputs.size(); ++k) slots[input_slots_[k]] = inputs[k];
    for (const Step& step : steps_) {
      in.clear();
      for (int s : step.inputs) in.push_back(s < 0 ? Value() : slots[static_cast<std::size_t>(s)]);
      out.assign(step.outputs.size(), Value());
      try {
        step.kernel->run(in, out);
      } catch (const Error& e) {
        rethrow(e, *step.node, "Session::run");
      }
      if (observe) observe(*step.node, in, out);
      for (std::size_t k = 0; k < step.outputs.size(); ++k) {
        if (step.outputs[k] >= 0) slots[static_cast<std::size_t>(step.outputs[k])] = std::move(out[k]);
      }
      for (int s : step.release) slots[static_cast<std::size_t>(s)] = Value();
    }
    outputs.resize(output_slots_.size());
    for (std::size_t k = 0; k < output_slots_.size(); ++k) outputs[k] = slots[static_cast<std::size_t>(output_slots_[k])];
    for (Value& v : slots) v = Value();  // the pooled buffers keep no tensor alive
  }

 private:
  // An If branch: a Session of its own, run on the caller's thread.
  class Subsession final : public SubgraphRunner {
   public:
    Subsession(Graph graph, SessionOptions options) : session_(std::move(graph), options) {}
    std::vector<Value> run(const std::vector<Value>& inputs) const override { return session_.run_values(inputs); }

   private:
    Session session_;
  };

  // One run's value slots and kernel argument vectors. Runs borrow one from
  // the Session's pool and give it back, so concurrent runs never share one
  // and a steady state allocates none.
  struct Scratch {
    std::vector<Value> slots, in, out;
  };
  struct ScratchPool {
    std::mutex mutex;
    std::vector<std::unique_ptr<Scratch>> free;
  };
  class ScratchLease {
   public:
    explicit ScratchLease(const Session& s) : pool_(*s.scratch_pool_) {
      {
        std::lock_guard<std::mutex> lock(pool_.mutex);
        if (!pool_.free.empty()) {
          scratch = std::move(pool_.free.back());
          pool_.free.pop_back();
        }
      }
      if (!scratch) scratch = std::make_unique<Scratch>();
    }
    ~ScratchLease() {
      std::lock_guard<std::mutex> lock(pool_.mutex);
      pool_.free.push_back(std::move(scratch));  // after the first runs, within its capacity
    }
    ScratchLease(const ScratchLease&) = delete;
    ScratchLease& operator=(const ScratchLease&) = delete;
    std::unique_ptr<Scratch> scratch;

   private:
    ScratchPool& pool_;
  };

  struct Step {
    const Node* node;
    std::shared_ptr<const OpKernel> kernel;
    std::vector<int> inputs;   // slot per node input; -1 for an omitted optional input
    std::vector<int> outputs;  // slot per node output; -1 when unused
    std::vector<int> release;  // slots whose last reader this step is
  };

  static std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
    return s;
  }

  // Kernel errors carry the node they came from, and keep their type.
  [[noreturn]] static void rethrow(const Error& e, const Node& node, const char* when) {
    const std::string text = e.what();
    const std::string msg = text.rfind(node.describe(), 0) == 0 ? nabla::detail::message(when, ": ", text)
                                                                : nabla::detail::message(when, ": ", node.describe(), ": ", text);
    if (dynamic_cast<const ShapeError*>(&e)) throw ShapeError(msg);
    if (dynamic_cast<const IndexError*>(&e)) throw IndexError(msg);
    if (dynamic_cast<const OutOfMemoryError*>(&e)) throw OutOfMemoryError(msg);
    if (dynamic_cast<const ValueError*>(&e)) throw ValueError(msg);
    throw Error(msg);
  }

  void check_input(std::size_t k, const Value& v) const {
    const ValueInfo& info = input_info_[k];
    if (!v.defined()) throw ValueError(nabla::detail::message("Session::run: input '", info.name, "' is undefined"));
    if (info.dtype != DType::undefined && v.dtype() != info.dtype) {
      throw ValueError(nabla::detail::message("Session::run: input '", info.name, "' must be ", dtype_name(info.dtype),
                                              " of shape ", to_string(info.shape), ", got ", dtype_name(v.dtype()),
                                              " of shape ", nabla::to_string(v.shape())));
    }
    if (!info.has_shape) return;
    bool ok = v.shape().size() == info.shape.size();
    for (std::size_t d = 0; ok && d < info.shape.size(); ++d) {
      ok = !info.shape[d].known() || info.shape[d].extent == v.shape()[d];
    }
    if (!ok) {
      throw ShapeError(nabla::detail::message("Session::run: input '", info.name, "' must have shape ",
                                              to_string(info.shape), ", got ", nabla::to_string(v.shape())));
    }
  }

  void plan() {
    std::map<std::string, int> slot_of;
    auto slot = [&](const std::string& name) {
      const auto it = slot_of.find(name);
      if (it != slot_of.end()) return it->second;
      const int s = static_cast<int>(slot_of.size());
      slot_of[name] = s;
      return s;
    };
    for (const auto& [name, value] : graph_.initializers) slot(name);
    for (const ValueInfo& in : graph_.inputs) {
      if (graph_.initializers.count(in.name)) continue;  // an initializer listed as an input: a constant
      input_slots_.push_back(slot(in.name));
      input_names_.push_back(in.name);
      input_info_.push_back(in);
    }
    for (const Node& node : graph_.nodes) {
      Step step;
      step.node = &node;
      for (const auto& name : node.inputs) step.inputs.push_back(name.empty() ? -1 : slot(name));
      for (const auto& name : node.outputs) step.outputs.push_back(name.empty() ? -1 : slot(name));
      steps_.push_back(std::move(step));
    }
    for (const ValueInfo& out : graph_.outputs) {
      output_slots_.push_back(slot(out.name));
      output_names_.push_back(out.name);
    }
    constants_.assign(slot_of.size(), Value());
    for (const auto& [name, value] : graph_.initializers) constants_[static_cast<std::size_t>(slot_of[name])] = value;
    // Kernels see their constant inputs (weights) when they are built.
    for (Step& step : steps_) {
      const KernelContext ctx{graph_, graph_.opset(step.node->domain),
                              [&](std::size_t k) -> const Value* {
                                if (k >= step.inputs.size() || step.inputs[k] < 0) return nullptr;
                                const Value& c = constants_[static_cast<std::size_t>(step.inputs[k])];
                                return c.defined() ? &c : nullptr;
                              },
                              [this](Graph sub) -> std::shared_ptr<const SubgraphRunner> {
                                return std::make_shared<Subsession>(std::move(sub), options_);
                              }};
      const OpSupport& entry = *find_op(*step.node);  // check_supported has run
      try {
        step.kernel = entry.build(*step.node, ctx);
      } catch (const Error& e) {
        rethrow(e, *step.node, "Session");
      }
    }
    // Lifetimes: a value is freed after its last reader, unless it is a
    // constant or a graph output.
    std::vector<int> last(slot_of.size(), -1);
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      for (int s : steps_[i].inputs) {
        if (s >= 0) last[static_cast<std::size_t>(s)] = static_cast<int>(i);
      }
      for (int s : steps_[i].outputs) {  // an output nobody reads dies where it is made
        if (s >= 0 && last[static_cast<std::size_t>(s)] < static_cast<int>(i)) last[static_cast<std::size_t>(s)] = static_cast<int>(i);
      }
    }
    std::vector<bool> keep(slot_of.size(), false);
    for (int s : output_slots_) keep[static_cast<std::size_t>(s)] = true;
    for (std::size_t s = 0; s < constants_.size(); ++s) {
      if (constants_[s].defined()) keep[s] = true;
    }
    for (std::size_t s = 0; s < last.size(); ++s) {
      if (!keep[s] && last[s] >= 0) steps_[static_cast<std::size_t>(last[s])].release.push_back(static_cast<int>(s));
    }
  }

  Graph graph_;
  SessionOptions options_;
  OptimizeReport report_;
  std::vector<Step> steps_;
  std::vector<Value> constants_;  // one per slot: initializers, others undefined
  std::vector<int> input_slots_, output_slots_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<ValueInfo> input_info_;
  std::unique_ptr<ScratchPool> scratch_pool_ = std::make_unique<ScratchPool>();
};

}  // namespace nabla::graph

// Saving and loading a module's weights (PyTorch state_dict names, in the
// safetensors format) and training checkpoints (module plus optimizer state).
//
// Works with any module type M offering
//   named_parameters() -> std::vector<std::pair<std::string, Var<T>>>
//   named_buffers()    -> std::vector<std::pair<std::string, Tensor<T>>>
// and any optimizer type O offering
//   state_dict()       -> std::vector<std::pair<std::string, Tensor<T>>>
//   load_state_dict(const std::vector<std::pair<std::string, Tensor<T>>>&)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/io/safetensors.hpp"

namespace nabla::io {

struct LoadOptions {
  // Strict: every module entry must be in the file and every file entry in
  // the module. Non-strict: load the names both have, report the rest.
  bool strict = true;
};

// Names that did not match (always empty after a strict load).
struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the module
  bool complete() const noexcept { return missing.empty() && unexpected.empty(); }
};

namespace detail {

// The element type of a module's parameters.
template <class M>
using module_scalar_t =
    typename std::decay_t<decltype(std::declval<const M&>().named_parameters().front().second.value())>::value_type;

template <class T>
using StateList = std::vector<std::pair<std::string, Tensor<T>>>;

// Parameters then buffers, under their state_dict names.
template <class M>
StateList<module_scalar_t<M>> module_state(const M& module) {
  StateList<module_scalar_t<M>> out;
  for (const auto& [name, param] : module.named_parameters()) out.emplace_back(name, param.value());
  for (const auto& [name, buffer] : module.named_buffers()) out.emplace_back(name, buffer);
  return out;
}

inline bool is_counter_name(const std::string& name) {
  static constexpr std::string_view suffix = "num_batches_tracked";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tensors to write for `state`. Counters (BatchNorm's num_batches_tracked)
// are written as I64, as PyTorch stores them.
template <class T>
void append_state(NamedTensors& out, const StateList<T>& state, const std::string& prefix) {
  for (const auto& [name, tensor] : state) {
    if (is_counter_name(name)) {
      Tensor<std::int64_t> counter = Tensor<std::int64_t>::empty(tensor.shape());
      const Tensor<T> packed = tensor.contiguous();
      for (std::int64_t i = 0; i < packed.numel(); ++i) {
        counter.data()[i] = static_cast<std::int64_t>(std::llround(static_cast<double>(packed.data()[i])));
      }
      out.emplace_back(prefix + name, std::move(counter));
    } else {
      out.emplace_back(prefix + name, tensor);
    }
  }
}

inline std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  const std::size_t shown = std::min<std::size_t>(names.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > shown) out += message(", ... (", names.size() - shown, " more)");
  return out;
}

// A validated load: every destination with its converted source. Applying
// it cannot fail, so nothing is written until every check has passed.
template <class T>
struct LoadPlan {
  std::vector<std::pair<Tensor<T>, Tensor<T>>> copies;  // (destination, source)
  LoadReport report;

  void apply() const {
    for (const auto& [dst, src] : copies) dst.copy_(src);
  }
};

// Matches `state` against `file` entries (a name -> tensor map) and checks
// names, shapes and dtypes; throws IOError naming `path` on any problem.
template <class T>
LoadPlan<T> plan_load(const StateList<T>& state, const std::map<std::string, const TensorVariant*>& file,
                      const LoadOptions& options, const char* op, const std::string& path) {
  LoadPlan<T> plan;
  std::map<std::string, bool> matched;
  for (const auto& [name, dst] : state) {
    if (!matched.emplace(name, false).second) {
      throw ValueError(message(op, ": the module has two entries named '", name, "'"));
    }
    const auto found = file.find(name);
    if (found == file.end()) {
      plan.report.missing.push_back(name);
      continue;
    }
    matched[name] = true;
    const TensorVariant& src = *found->second;
    const Shape& src_shape = shape_of(src);
    // One-element tensors match whatever their rank ([] and [1]), as
    // PyTorch's load_state_dict allows for old 0-d buffers.
    const bool same = src_shape == dst.shape() || (src_shape.numel() == 1 && dst.numel() == 1);
    if (!same) {
      throw IOError(message(op, ": ", path, ": shape mismatch for '", name, "': the file has ", to_string(src_shape),
                            ", the module has ", to_string(dst.shape())));
    }
    plan.copies.emplace_back(dst, tensor_as<T>(src).reshape(dst.shape()));
  }
  for (const auto& [name, tensor] : file) {
    if (!matched.count(name)) plan.report.unexpected.push_back(name);
  }
  if (options.strict && !plan.report.complete()) {
    std::string problem = "the file does not match the module:";
    if (!plan.report.missing.empty()) {
      problem += message(" missing ", plan.report.missing.size(), " (", name_list(plan.report.missing), ")");
      if (!plan.report.unexpected.empty()) problem += ";";
    }
    if (!plan.report.unexpected.empty()) {
      problem += message(" unexpected ", plan.report.unexpected.size(), " (", name_list(plan.report.unexpected), ")");
    }
    throw IOError(message(op, ": ", path, ": ", problem, "; nothing was loaded (LoadOptions{.strict = false} loads the names that match)"));
  }
  return plan;
}

}  // namespace detail

// Writes the module's parameters and buffers to `path` (safetensors, names
// as in PyTorch's state_dict, element type as the module's: F32 for float,
// F64 for double). The write is atomic: on failure the old file stays.
template <class M>
void save_weights(const M& module, const std::string& path, const Metadata& metadata = {}) {
  NamedTensors tensors;
  detail::append_state(tensors, detail::module_state(module), "");
  detail::write(path, tensors, metadata, "save_weights");
}

// Loads weights saved by save_weights or by PyTorch (a state_dict in
// safetensors format) into `module`, in place (optimizers holding the
// parameters stay valid). F32, F64 and I64 entries convert to the module's
// element type. The file and every name and shape are checked before the
// first value is written: on any error (IOError naming the file and the
// problem) the module is unchanged.
template <class M>
LoadReport load_weights(M& module, const std::string& path, LoadOptions options = {}) {
  using T = detail::module_scalar_t<M>;
  const SafetensorsFile file = detail::read_file(path, "load_weights");
  std::map<std::string, const TensorVariant*> entries;
  for (const auto& [name, tensor] : file.tensors) entries.emplace(name, &tensor);
  const detail::LoadPlan<T> plan = detail::plan_load<T>(detail::module_state(module), entries, options, "load_weights", path);
  plan.apply();
  return plan.report;
}

// Writes the module's state (as "model.<name>") and the optimizer's
// state_dict (as "optim.<name>") to one safetensors file, atomically.
template <class M, class O>
void save_checkpoint(const std::string& path, const M& module, const O& optimizer) {
  using T = detail::module_scalar_t<M>;
  NamedTensors tensors;
  detail::append_state(tensors, detail::module_state(module), "model.");
  const detail::StateList<T> optim_state = optimizer.state_dict();
  for (const auto& [name, tensor] : optim_state) tensors.emplace_back("optim." + name, tensor);
  detail::write(path, tensors, Metadata{{"format", "nabla-checkpoint"}, {"version", "1"}}, "save_checkpoint");
}

// Restores a checkpoint written by save_checkpoint: the module's values in
// place and the optimizer's state through load_state_dict. The file and
// the module's names and shapes are checked first and the optimizer's state
// is handed over before the module is written, so an error leaves the module
// unchanged. Entries with neither prefix are unexpected.
template <class M, class O>
LoadReport load_checkpoint(const std::string& path, M& module, O& optimizer, LoadOptions options = {}) {
  using T = detail::module_scalar_t<M>;
  const char* op = "load_checkpoint";
  const SafetensorsFile file = detail::read_file(path, op);
  std::map<std::string, const TensorVariant*> model_entries;
  detail::StateList<T> optim_state;
  std::vector<std::string> stray;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind("model.", 0) == 0) {
      model_entries.emplace(name.substr(6), &tensor);
    } else if (name.rfind("optim.", 0) == 0) {
      optim_state.emplace_back(name.substr(6), tensor_as<T>(tensor));
    } else {
      stray.push_back(name);
    }
  }
  if (options.strict && !stray.empty()) {
    throw IOError(nabla::detail::message(op, ": ", path, ": entries without a 'model.' or 'optim.' prefix: ",
                                         detail::name_list(stray)));
  }
  detail::LoadPlan<T> plan = detail::plan_load<T>(detail::module_state(module), model_entries, options, op, path);
  for (auto& name : plan.report.missing) name = "model." + name;
  for (auto& name : plan.report.unexpected) name = "model." + name;
  plan.report.unexpected.insert(plan.report.unexpected.end(), stray.begin(), stray.end());
  optimizer.load_state_dict(optim_state);
  plan.apply();
  return plan.report;
}

}  // namespace nabla::io

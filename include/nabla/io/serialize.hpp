// Saving and loading a module's weights (PyTorch state_dict names, in the
// safetensors format) and training checkpoints (module, optimizer state and
// optionally generator states).
//
// Works with nn::Module (through its state_dict(), so file names are the
// in-memory state_dict's) and with any module type M offering
//   named_parameters() -> std::vector<std::pair<std::string, Var<T>>>
//   named_buffers()    -> std::vector<std::pair<std::string, Tensor<T>>>
// and any optimizer type O offering
//   state_dict()       -> std::vector<std::pair<std::string, Tensor<T>>>
//   load_state_dict(const std::vector<std::pair<std::string, Tensor<T>>>&)
#pragma once

#include <algorithm>
#include <array>
#include <bit>
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
#include "nabla/core/random.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/io/safetensors.hpp"
#include "nabla/nn/state_dict.hpp"

namespace nabla::io {

struct LoadOptions {
  // Strict: every module entry must be in the file and every file entry in
  // the module. Non-strict: load the names both have, report the rest.
  bool strict = true;
};

// Names that did not match (always empty after a strict load); the same
// report as Module::load_state_dict's.
using LoadReport = nn::LoadReport;

namespace detail {

// The element type of a module's parameters.
template <class M>
using module_scalar_t =
    typename std::decay_t<decltype(std::declval<const M&>().named_parameters().front().second.value())>::value_type;

template <class T>
using StateList = nn::StateDict<T>;

// The module's state_dict() when it has one (nn::Module), else parameters
// then buffers, under their state_dict names.
template <class M>
StateList<module_scalar_t<M>> module_state(const M& module) {
  if constexpr (requires { module.state_dict(); }) {
    return module.state_dict();
  } else {
    StateList<module_scalar_t<M>> out;
    for (const auto& [name, param] : module.named_parameters()) out.emplace_back(name, param.value());
    for (const auto& [name, buffer] : module.named_buffers()) out.emplace_back(name, buffer);
    return out;
  }
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

inline std::string name_list(const std::vector<std::string>& names) { return nabla::detail::state_name_list(names); }

template <class T>
using LoadPlan = nabla::detail::StateLoadPlan<T>;

// Matches `state` against `file` entries (a name -> tensor map) with the
// checks Module::load_state_dict makes; throws IOError naming `path` and
// every problem.
template <class T>
LoadPlan<T> plan_load(const StateList<T>& state, const std::map<std::string, const TensorVariant*>& file,
                      const LoadOptions& options, const char* op, const std::string& path) {
  LoadPlan<T> plan = nabla::detail::plan_state_load<T>(
      state, file, [](const TensorVariant& t) -> const Shape& { return shape_of(t); },
      [](const TensorVariant& t) { return tensor_as<T>(t); }, op, "the file");
  const std::string problems = plan.problems(options.strict, "the file", "LoadOptions{.strict = false}");
  if (!problems.empty()) throw IOError(message(op, ": ", path, ": ", problems));
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

namespace detail {

// A generator's state as the I64 entry "rng.<i>" of shape [7]: the four
// state words, the seed, has_spare_normal and the spare normal's bits.
inline Tensor<std::int64_t> generator_entry(const Generator& gen) {
  const GeneratorState st = gen.state();
  Tensor<std::int64_t> out = Tensor<std::int64_t>::empty(Shape{7});
  std::int64_t* w = out.data();
  for (std::size_t i = 0; i < 4; ++i) w[i] = std::bit_cast<std::int64_t>(st.words[i]);
  w[4] = std::bit_cast<std::int64_t>(st.seed);
  w[5] = st.has_spare_normal ? 1 : 0;
  w[6] = std::bit_cast<std::int64_t>(st.spare_normal);
  return out;
}

inline GeneratorState generator_from_entry(const TensorVariant& entry, const std::string& name, const char* op,
                                           const std::string& path) {
  const Tensor<std::int64_t>* t = std::get_if<Tensor<std::int64_t>>(&entry);
  if (t == nullptr || !(t->shape() == Shape{7})) {
    throw IOError(message(op, ": ", path, ": entry '", name, "' is not a generator state (expected I64 of shape [7], got ",
                          dtype_name(dtype_of(entry)), " ", to_string(shape_of(entry)), ")"));
  }
  const Tensor<std::int64_t> c = t->contiguous();
  const std::int64_t* w = c.data();
  GeneratorState st;
  for (std::size_t i = 0; i < 4; ++i) st.words[i] = std::bit_cast<std::uint64_t>(w[i]);
  st.seed = std::bit_cast<std::uint64_t>(w[4]);
  st.has_spare_normal = w[5] != 0;
  st.spare_normal = std::bit_cast<double>(w[6]);
  if (st.words == std::array<std::uint64_t, 4>{} || (w[5] != 0 && w[5] != 1)) {
    throw IOError(message(op, ": ", path, ": entry '", name, "' is not a valid generator state"));
  }
  return st;
}

}  // namespace detail

// Writes the module's state (as "model.<name>"), the optimizer's state_dict
// (as "optim.<name>") and the state of each generator given (as "rng.0",
// "rng.1", ... in argument order) to one safetensors file, atomically.
// Saving the generators that dropout and shuffling draw from lets a resumed
// run continue bit for bit.
template <class M, class O, class... G>
  requires(std::is_same_v<G, Generator> && ...)
void save_checkpoint(const std::string& path, const M& module, const O& optimizer, const G&... generators) {
  using T = detail::module_scalar_t<M>;
  NamedTensors tensors;
  detail::append_state(tensors, detail::module_state(module), "model.");
  const detail::StateList<T> optim_state = optimizer.state_dict();
  for (const auto& [name, tensor] : optim_state) tensors.emplace_back("optim." + name, tensor);
  [[maybe_unused]] std::size_t index = 0;
  ((tensors.emplace_back("rng." + std::to_string(index++), detail::generator_entry(generators))), ...);
  // Version 1 files (no generators) stay what older nabla wrote and reads.
  const char* version = sizeof...(G) > 0 ? "2" : "1";
  detail::write(path, tensors, Metadata{{"format", "nabla-checkpoint"}, {"version", version}}, "save_checkpoint");
}

// Restores a checkpoint written by save_checkpoint: the module's values in
// place, the optimizer's state through load_state_dict and, for each
// generator given, its state from "rng.<i>". The file, the module's names
// and shapes and the generator entries are checked first, and the
// optimizer's state is handed over before anything else is written, so an
// error leaves module and generators unchanged. Entries with no known
// prefix, and "rng.<i>" entries beyond the generators given, are
// unexpected; a generator without an entry is missing (as "rng.<i>"), and
// is left as it is by a non-strict load. Checkpoints written without
// generators load as before.
template <class M, class O, class... G>
  requires(std::is_same_v<G, Generator> && ...)
LoadReport load_checkpoint(const std::string& path, M& module, O& optimizer, LoadOptions options, G&... generators) {
  using T = detail::module_scalar_t<M>;
  const char* op = "load_checkpoint";
  const SafetensorsFile file = detail::read_file(path, op);
  std::map<std::string, const TensorVariant*> model_entries;
  std::map<std::string, const TensorVariant*> rng_entries;
  detail::StateList<T> optim_state;
  std::vector<std::string> stray;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind("model.", 0) == 0) {
      model_entries.emplace(name.substr(6), &tensor);
    } else if (name.rfind("optim.", 0) == 0) {
      optim_state.emplace_back(name.substr(6), tensor_as<T>(tensor));
    } else if (name.rfind("rng.", 0) == 0) {
      rng_entries.emplace(name, &tensor);
    } else {
      stray.push_back(name);
    }
  }
  if (options.strict && !stray.empty()) {
    throw IOError(nabla::detail::message(op, ": ", path, ": entries without a 'model.' or 'optim.' prefix: ",
                                         detail::name_list(stray)));
  }
  // Generator states, checked before anything is written.
  std::vector<std::string> rng_missing;
  std::vector<std::pair<Generator*, GeneratorState>> rng_states;
  [[maybe_unused]] std::size_t index = 0;
  [[maybe_unused]] auto plan_generator = [&](Generator& gen) {
    const std::string name = "rng." + std::to_string(index++);
    const auto found = rng_entries.find(name);
    if (found == rng_entries.end()) {
      rng_missing.push_back(name);
      return;
    }
    rng_states.emplace_back(&gen, detail::generator_from_entry(*found->second, name, op, path));
    rng_entries.erase(found);
  };
  (plan_generator(generators), ...);
  for (const auto& entry : rng_entries) stray.push_back(entry.first);
  if (options.strict && (!rng_missing.empty() || !rng_entries.empty())) {
    std::string problem;
    if (!rng_missing.empty()) problem += "no state for generator " + detail::name_list(rng_missing);
    if (!rng_entries.empty()) {
      std::vector<std::string> extra;
      for (const auto& entry : rng_entries) extra.push_back(entry.first);
      problem += std::string(problem.empty() ? "" : "; ") + "generator states without a generator to load them into: " +
                 detail::name_list(extra);
    }
    throw IOError(nabla::detail::message(op, ": ", path, ": ", problem,
                                         "; nothing was loaded (LoadOptions{.strict = false} loads what matches)"));
  }
  detail::LoadPlan<T> plan = detail::plan_load<T>(detail::module_state(module), model_entries, options, op, path);
  for (auto& name : plan.report.missing) name = "model." + name;
  for (auto& name : plan.report.unexpected) name = "model." + name;
  plan.report.missing.insert(plan.report.missing.end(), rng_missing.begin(), rng_missing.end());
  plan.report.unexpected.insert(plan.report.unexpected.end(), stray.begin(), stray.end());
  optimizer.load_state_dict(optim_state);
  for (const auto& [gen, state] : rng_states) gen->set_state(state);
  plan.apply();
  return plan.report;
}

template <class M, class O, class... G>
  requires(std::is_same_v<G, Generator> && ...)
LoadReport load_checkpoint(const std::string& path, M& module, O& optimizer, G&... generators) {
  return load_checkpoint(path, module, optimizer, LoadOptions{}, generators...);
}

}  // namespace nabla::io

// StateDict<T> (ordered name -> tensor, PyTorch's state_dict names),
// LoadReport, and the checked load plan shared by Module::load_state_dict
// and io::load_weights / io::load_checkpoint.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"

namespace nabla::nn {

// Parameters and buffers in PyTorch's state_dict order and names:
// "0.weight", "0.bias", "1.running_mean", "1.num_batches_tracked", ...
template <class T>
using StateDict = std::vector<std::pair<std::string, Tensor<T>>>;

// Names that did not match (always empty after a strict load).
struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the source
  std::vector<std::string> unexpected;  // in the source, not in the module
  bool complete() const noexcept { return missing.empty() && unexpected.empty(); }
};

}  // namespace nabla::nn

namespace nabla::detail {

inline std::string state_name_list(const std::vector<std::string>& names) {
  std::string out;
  const std::size_t shown = std::min<std::size_t>(names.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > shown) out += message(", ... (", names.size() - shown, " more)");
  return out;
}

// A validated load: every destination with its converted source. Applying
// it cannot fail, so nothing is written until every check has passed.
template <class T>
struct StateLoadPlan {
  std::vector<std::pair<Tensor<T>, Tensor<T>>> copies;  // (destination, source)
  nn::LoadReport report;
  std::vector<std::string> shape_mismatches;            // "shape mismatch for 'x': the file has ..., the module has ..."

  // Copies values into the module's own storage: the source is not aliased.
  void apply() const {
    for (const auto& [dst, src] : copies) dst.copy_(src);
  }

  // Every problem in one sentence (empty when the load may go ahead). Shape
  // mismatches always count; missing and unexpected names only when strict.
  std::string problems(bool strict, const char* source_word, const char* hint) const {
    std::string out;
    for (const std::string& m : shape_mismatches) out += (out.empty() ? "" : "; ") + m;
    if (strict && !report.complete()) {
      out += message(out.empty() ? "" : "; ", source_word, " does not match the module:");
      if (!report.missing.empty()) {
        out += message(" missing ", report.missing.size(), " (", state_name_list(report.missing), ")");
        if (!report.unexpected.empty()) out += ";";
      }
      if (!report.unexpected.empty()) {
        out += message(" unexpected ", report.unexpected.size(), " (", state_name_list(report.unexpected), ")");
      }
      out += message("; nothing was loaded (", hint, " loads the names that match)");
    }
    return out;
  }
};

// Matches the module's `state` against `source` entries (name -> entry).
// `shape_of(entry)` gives an entry's shape and `convert(entry)` its values as
// Tensor<T>; `source_word` ("the file", "the state dict") names the source in
// mismatch messages. One-element entries match whatever their rank ([] and
// [1]), as PyTorch's load_state_dict allows for old 0-d buffers. Throws
// ValueError only when the module itself has a name twice.
template <class T, class Entry, class ShapeOf, class Convert>
StateLoadPlan<T> plan_state_load(const nn::StateDict<T>& state, const std::map<std::string, const Entry*>& source,
                                 ShapeOf shape_of, Convert convert, const char* op, const char* source_word) {
  StateLoadPlan<T> plan;
  std::map<std::string, bool> matched;
  for (const auto& [name, dst] : state) {
    if (!matched.emplace(name, false).second) {
      throw ValueError(message(op, ": the module has two entries named '", name, "'"));
    }
    const auto found = source.find(name);
    if (found == source.end()) {
      plan.report.missing.push_back(name);
      continue;
    }
    matched[name] = true;
    const Shape& src_shape = shape_of(*found->second);
    if (!(src_shape == dst.shape()) && !(src_shape.numel() == 1 && dst.numel() == 1)) {
      plan.shape_mismatches.push_back(message("shape mismatch for '", name, "': ", source_word, " has ",
                                              to_string(src_shape), ", the module has ", to_string(dst.shape())));
      continue;
    }
    plan.copies.emplace_back(dst, convert(*found->second).reshape(dst.shape()));
  }
  for (const auto& [name, entry] : source) {
    if (!matched.count(name)) plan.report.unexpected.push_back(name);
  }
  return plan;
}

}  // namespace nabla::detail

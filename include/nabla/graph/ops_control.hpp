// Runtime kernel for ONNX's control flow: If, whose branches are subgraphs
// that read values of the enclosing graph. A Session lowers those reads to
// extra node inputs (Node::captured_names) and builds each branch once, so a
// run only picks a branch and feeds it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nabla/graph/kernel.hpp"

namespace nabla::graph::ops {
namespace impl {

// One built branch and which of the node's inputs it is fed.
struct Branch {
  std::shared_ptr<const SubgraphRunner> runner;
  std::vector<std::size_t> feeds;  // node input indices, in the branch's input order
};

// Captured values that are constants of the enclosing graph become the
// branch's own initializers, so its kernels see their weights when built;
// the rest become its inputs.
inline Branch build_branch(const Node& node, const KernelContext& ctx, const std::string& key,
                           const std::vector<std::string>& captured, std::size_t first_capture) {
  Graph sub = *node.get<std::shared_ptr<const Graph>>(key);
  if (sub.opsets.empty()) sub.opsets = ctx.graph.opsets;
  Branch b;
  const std::vector<std::string> reads = sub.captured_names();
  for (const std::string& name : reads) {
    std::size_t k = 0;
    while (k < captured.size() && captured[k] != name) ++k;
    const std::size_t input = first_capture + k;
    if (const Value* c = ctx.constant(input)) {
      sub.initializers[name] = *c;
    } else {
      ValueInfo info;
      info.name = name;
      info.dtype = DType::undefined;  // whatever the enclosing graph holds
      info.has_shape = false;
      sub.inputs.push_back(std::move(info));
      b.feeds.push_back(input);
    }
  }
  try {
    b.runner = ctx.build_subgraph(std::move(sub));
  } catch (const Error& e) {
    throw ValueError(nabla::detail::message(node.describe(), ": ", key, ": ", e.what()));
  }
  return b;
}

}  // namespace impl

inline std::unique_ptr<OpKernel> make_If(const Node& node, const KernelContext& ctx) {
  if (!ctx.build_subgraph) throw ValueError(node.describe() + ": If runs only inside a graph::Session");
  const std::vector<std::string> captured = node.captured_names();
  // The Session appended the captured names after the condition.
  const bool lowered = node.inputs.size() == 1 + captured.size() &&
                       std::equal(captured.begin(), captured.end(), node.inputs.begin() + 1);
  if (node.inputs.empty() || node.inputs[0].empty() || !lowered) {
    throw ValueError(nabla::detail::message(node.describe(), ": expected the condition and the ", captured.size(),
                                            " values its branches read as inputs, got ", node.inputs.size(), " inputs"));
  }
  auto then_branch = std::make_shared<impl::Branch>(impl::build_branch(node, ctx, "then_branch", captured, 1));
  auto else_branch = std::make_shared<impl::Branch>(impl::build_branch(node, ctx, "else_branch", captured, 1));
  const std::string what = node.describe();
  return detail::kernel([then_branch, else_branch, what](const std::vector<Value>& in, std::vector<Value>& out) {
    const Value& cond = in[0];
    if (cond.numel() != 1) {
      throw ValueError(nabla::detail::message(what, ": the condition must hold one element, got shape ",
                                              to_string(cond.shape())));
    }
    bool take_then = false;
    if (cond.is<bool>()) {
      take_then = cond.as<bool>().to_vector()[0];
    } else {
      take_then = detail::visit_numeric(cond, what, [](const auto& t) { return t.to_vector()[0] != 0; });
    }
    const impl::Branch& branch = take_then ? *then_branch : *else_branch;
    std::vector<Value> feeds;
    feeds.reserve(branch.feeds.size());
    for (std::size_t k : branch.feeds) feeds.push_back(in[k]);
    std::vector<Value> results = branch.runner->run(feeds);
    if (results.size() != out.size()) {
      throw ValueError(nabla::detail::message(what, ": the ", take_then ? "then" : "else", " branch returns ",
                                              results.size(), " values, the node has ", out.size(), " outputs"));
    }
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = std::move(results[k]);
  });
}

}  // namespace nabla::graph::ops

// Building graphs by hand in the runtime's tests: a Node from its op type,
// inputs, outputs and attributes (named after its first output).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nabla/graph/graph.hpp"

namespace nabla::testing {

inline graph::Node make_node(std::string op, std::vector<std::string> in, std::vector<std::string> out,
                             std::map<std::string, graph::Attribute> attrs = {}) {
  graph::Node n;
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.name = n.outputs.empty() ? "" : n.outputs[0];
  n.attributes = std::move(attrs);
  return n;
}

}  // namespace nabla::testing

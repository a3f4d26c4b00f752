// The runtime's op table: for each supported ONNX op type (default domain),
// the opset range it is implemented for and its kernel builder.
// check_supported lists everything a graph needs that is missing, at once.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "nabla/core/error.hpp"
#include "nabla/graph/graph.hpp"
#include "nabla/graph/kernel.hpp"
#include "nabla/graph/ops_math.hpp"
#include "nabla/graph/ops_nn.hpp"
#include "nabla/graph/ops_shape.hpp"
#include "nabla/graph/ops_extra.hpp"

namespace nabla::graph {

struct OpSupport {
  std::int64_t since_opset;  // oldest opset version implemented
  std::int64_t until_opset;  // newest
  KernelBuilder build;
};

// Opsets 7 to 18 of ONNX's default domain.
inline const std::map<std::string, OpSupport>& op_table() {
  static const std::map<std::string, OpSupport> table = [] {
    std::map<std::string, OpSupport> t;
    auto add = [&t](const char* name, KernelBuilder b, std::int64_t since = 7) { t[name] = OpSupport{since, 18, b}; };
    using namespace ops;
    add("Abs", make_Abs); add("Add", make_Add); add("And", make_And); add("ArgMax", make_ArgMax);
    add("ArgMin", make_ArgMin); add("AveragePool", make_AveragePool); add("BatchNormalization", make_BatchNormalization);
    add("Cast", make_Cast); add("Ceil", make_Ceil); add("Clip", make_Clip); add("Concat", make_Concat);
    add("Constant", make_Constant); add("ConstantOfShape", make_ConstantOfShape, 9); add("Conv", make_Conv);
    add("Cos", make_Cos); add("Div", make_Div); add("Dropout", make_Dropout); add("Elu", make_Elu);
    add("Equal", make_Equal); add("Erf", make_Erf, 9); add("Exp", make_Exp); add("Expand", make_Expand, 8);
    add("Flatten", make_Flatten); add("Floor", make_Floor); add("Gather", make_Gather); add("Gemm", make_Gemm);
    add("GlobalAveragePool", make_GlobalAveragePool); add("GlobalMaxPool", make_GlobalMaxPool);
    add("Greater", make_Greater); add("GreaterOrEqual", make_GreaterOrEqual, 12); add("HardSigmoid", make_HardSigmoid);
    add("HardSwish", make_HardSwish, 14); add("Identity", make_Identity); add("LayerNormalization", make_LayerNormalization, 17);
    add("LeakyRelu", make_LeakyRelu); add("Less", make_Less); add("LessOrEqual", make_LessOrEqual, 12);
    add("Log", make_Log); add("LogSoftmax", make_LogSoftmax); add("MatMul", make_MatMul); add("Max", make_Max);
    add("MaxPool", make_MaxPool); add("Mean", make_Mean); add("Min", make_Min); add("Mul", make_Mul);
    add("Neg", make_Neg); add("NonZero", make_NonZero, 9); add("Not", make_Not); add("Or", make_Or);
    add("Pad", make_Pad); add("Pow", make_PowMixed); add("Range", make_Range, 11); add("Reciprocal", make_Reciprocal);
    add("ReduceMax", make_ReduceMax); add("ReduceMean", make_ReduceMean); add("ReduceMin", make_ReduceMin);
    add("ReduceSum", make_ReduceSum); add("Relu", make_Relu); add("Reshape", make_Reshape, 5);
    add("Shape", make_Shape); add("Sigmoid", make_Sigmoid); add("Sign", make_Sign, 9); add("Sin", make_Sin);
    add("Size", make_Size); add("Slice", make_Slice); add("Softmax", make_Softmax); add("Softplus", make_Softplus);
    add("Split", make_Split); add("Sqrt", make_Sqrt); add("Squeeze", make_Squeeze); add("Sub", make_Sub);
    add("Sum", make_Sum); add("Tanh", make_Tanh); add("Tile", make_Tile); add("Transpose", make_Transpose);
    add("Unsqueeze", make_Unsqueeze); add("Where", make_Where, 9); add("Xor", make_Xor);
    // Model zoo ops (graph/ops_extra.hpp; scripts/onnx_zoo.py counts which exports need them).
    add("Einsum", make_Einsum, 12); add("Mod", make_Mod, 10); add("ScatterND", make_ScatterND, 11);
    return t;
  }();
  return table;
}

// Throws one nabla::ValueError naming every (op type, opset) of `graph`
// the runtime does not implement, so a model is rejected at load, not
// halfway through a run.
inline void check_supported(const Graph& graph) {
  std::set<std::string> missing;
  for (const Node& node : graph.nodes) {
    const std::int64_t opset = graph.opset(node.domain);
    const auto it = node.domain.empty() || node.domain == "ai.onnx" ? op_table().find(node.op_type) : op_table().end();
    if (it == op_table().end()) {
      missing.insert(nabla::detail::message(node.domain.empty() ? "" : node.domain + ".", node.op_type, " (opset ", opset, ")"));
    } else if (opset != 0 && (opset < it->second.since_opset || opset > it->second.until_opset)) {
      missing.insert(nabla::detail::message(node.op_type, " (opset ", opset, "; implemented for opsets ",
                                            it->second.since_opset, " to ", it->second.until_opset, ")"));
    }
  }
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  throw ValueError(nabla::detail::message("graph '", graph.name, "': ", missing.size(),
                                          " unsupported op type", missing.size() == 1 ? "" : "s", ": ", list));
}

}  // namespace nabla::graph

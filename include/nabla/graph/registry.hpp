// The runtime's op table: for each supported ONNX op type (default domain),
// the opset range it is implemented for and its kernel builder; a second
// table for the "nabla" domain's fused ops. check_supported lists everything a graph needs that is missing, at once.
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
#include "nabla/graph/ops_detect.hpp"
#include "nabla/graph/ops_control.hpp"
#include "nabla/graph/ops_fused.hpp"

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
    // Detector ops (graph/ops_detect.hpp): torchvision's SSDlite and Faster R-CNN exports.
    add("GatherND", make_GatherND, 11); add("NonMaxSuppression", make_NonMaxSuppression, 10);
    add("ReduceProd", make_ReduceProd); add("Resize", make_Resize, 10); add("RoiAlign", make_RoiAlign, 10);
    add("ScatterElements", make_ScatterElements, 11); add("TopK", make_TopK, 10);
    // Control flow (graph/ops_control.hpp): branches built by the Session.
    add("If", make_If, 7);
    return t;
  }();
  return table;
}

// Ops of nabla's own domain "nabla" (opset 1), which graph passes make
// (graph/passes.hpp): they run in a Session but are not ONNX.
inline const std::map<std::string, OpSupport>& fused_op_table() {
  static const std::map<std::string, OpSupport> table{{"FusedConv", OpSupport{1, 1, ops::make_FusedConv}},
                                                      {"FusedGemm", OpSupport{1, 1, ops::make_FusedGemm}}};
  return table;
}

// The table entry for `node`'s domain and op type, or null when the runtime
// has none (a Session builds each node's kernel with find_op(node)->build).
inline const OpSupport* find_op(const Node& node) {
  const bool onnx = node.domain.empty() || node.domain == "ai.onnx";
  if (!onnx && node.domain != "nabla") return nullptr;
  const auto& table = onnx ? op_table() : fused_op_table();
  const auto it = table.find(node.op_type);
  return it == table.end() ? nullptr : &it->second;
}

namespace registry_impl {

// Adds what `graph` (and its subgraphs, which use the outermost graph's
// opsets) needs and the runtime lacks to `missing`.
inline void collect_unsupported(const Graph& graph, const Graph& outermost, std::set<std::string>& missing) {
  for (const Node& node : graph.nodes) {
    for (const auto& [key, sub] : node.subgraphs()) collect_unsupported(*sub, outermost, missing);
    const std::int64_t opset = (graph.opsets.empty() ? outermost : graph).opset(node.domain);
    const OpSupport* support = find_op(node);
    if (!support) {
      missing.insert(nabla::detail::message(node.domain.empty() ? "" : node.domain + ".", node.op_type, " (opset ", opset, ")"));
    } else if (opset != 0 && (opset < support->since_opset || opset > support->until_opset)) {
      missing.insert(nabla::detail::message(node.op_type, " (opset ", opset, "; implemented for opsets ",
                                            support->since_opset, " to ", support->until_opset, ")"));
    }
  }
}

}  // namespace registry_impl

// Throws one nabla::ValueError naming every (op type, opset) of `graph`
// the runtime does not implement, so a model is rejected at load, not
// halfway through a run. Subgraphs (If branches) are searched too.
inline void check_supported(const Graph& graph) {
  std::set<std::string> missing;
  registry_impl::collect_unsupported(graph, graph, missing);
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  throw ValueError(nabla::detail::message("graph '", graph.name, "': ", missing.size(),
                                          " unsupported op type", missing.size() == 1 ? "" : "s", ": ", list));
}

}  // namespace nabla::graph

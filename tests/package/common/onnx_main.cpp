// The program consumers build when nabla::onnx exists: writes a one-node
// graph as ONNX bytes and reads it back (<nabla/onnx.hpp> only).
#include <nabla/onnx.hpp>

#include <cstdio>

int main() {
  nabla::graph::Graph g;
  g.name = "consumer";
  g.inputs.push_back({"X", nabla::graph::DType::float32, {nabla::graph::Dim{-1, "batch"}, nabla::graph::Dim{4, ""}}, true});
  g.outputs.push_back({"Y", nabla::graph::DType::float32, {nabla::graph::Dim{-1, "batch"}, nabla::graph::Dim{4, ""}}, true});
  nabla::graph::Node relu;
  relu.op_type = "Relu";
  relu.inputs = {"X"};
  relu.outputs = {"Y"};
  g.nodes.push_back(relu);
  const auto back = nabla::onnx::load_from_bytes(nabla::onnx::to_bytes(g));
  if (back.nodes.size() != 1 || back.nodes[0].op_type != "Relu" || back.opset() != 17 ||
      back.inputs.at(0).shape.at(0).symbol != "batch") {
    std::fprintf(stderr, "nabla::onnx round trip failed\n");
    return 1;
  }
  std::printf("nabla::onnx consumer: ok\n");
  return 0;
}

// nabla::onnx::load on the models of scripts/fixtures/onnx_models.py: the
// Graph's contents exactly, and every kind of bad input as a nabla::Error.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nabla/onnx.hpp"
#include "onnx_test_support.hpp"
#include "support/fixture.hpp"

namespace {

using nabla::graph::Dim;
using nabla::graph::DType;
using nabla::testing::onnx_support::fixture;
using nabla::testing::onnx_support::fixture_dir;
using nabla::testing::onnx_support::read_file;
using nabla::testing::onnx_support::ScratchDir;
using nabla::testing::onnx_support::write_file;

template <class T>
std::vector<T> onnx_load_values(const nabla::graph::Graph& g, const std::string& name) {
  return g.initializers.at(name).as<T>(name).to_vector();
}

nabla::Shape onnx_load_shape(const nabla::graph::Graph& g, const std::string& name) {
  return g.initializers.at(name).shape();
}

}  // namespace

TEST_CASE("onnx::load reads every attribute kind", "[onnx]") {
  const auto g = nabla::onnx::load(fixture("attributes.onnx"));
  CHECK(g.name == "attributes");
  CHECK(g.opsets == std::map<std::string, std::int64_t>{{"", 17}, {"com.nabla.test", 1}});
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "X");
  CHECK(g.inputs[0].dtype == DType::float32);
  CHECK(g.inputs[0].has_shape);
  CHECK(g.inputs[0].shape == std::vector<Dim>{Dim{-1, "batch"}, Dim{3, ""}});
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.outputs[0].name == "Y");
  CHECK(g.outputs[0].shape == std::vector<Dim>{Dim{-1, "n"}, Dim{-1, ""}});
  CHECK(g.initializers.empty());
  REQUIRE(g.nodes.size() == 2);

  const auto& constant = g.nodes[0];
  CHECK(constant.op_type == "Constant");
  CHECK(constant.domain.empty());
  CHECK(constant.name == "const");
  CHECK(constant.inputs.empty());
  CHECK(constant.outputs == std::vector<std::string>{"C"});
  REQUIRE(constant.attributes.size() == 1);
  const auto& cv = constant.attr_tensor("value");
  CHECK(cv.dtype() == DType::float32);
  CHECK(cv.shape() == nabla::Shape{3});
  CHECK(cv.as<float>().to_vector() == std::vector<float>{0.5f, 1.0f, 2.0f});

  const auto& n = g.nodes[1];
  CHECK(n.op_type == "AllKinds");
  CHECK(n.domain == "com.nabla.test");
  CHECK(n.name == "all_kinds");
  CHECK(n.inputs == std::vector<std::string>{"X", "", "C"});
  CHECK(n.outputs == std::vector<std::string>{"Y"});
  CHECK(n.attributes.size() == 8);
  CHECK(n.attr_float("f", 0.0) == 0.25);
  CHECK(n.attr_int("i") == -7);
  CHECK(n.attr_string("s", "") == "hello");
  CHECK(n.attr_floats("floats") == std::vector<double>{1.5, -2.0});
  CHECK(n.attr_ints("ints") == std::vector<std::int64_t>{3, 0, -1});
  CHECK(n.get<std::vector<std::string>>("strings") == std::vector<std::string>{"a", "bc"});
  const auto& t = n.attr_tensor("t");
  CHECK(t.dtype() == DType::int64);
  CHECK(t.shape() == nabla::Shape{2, 2});
  CHECK(t.as<std::int64_t>().to_vector() == std::vector<std::int64_t>{1, 2, 3, 4});
  const auto& sub = n.get<std::shared_ptr<const nabla::graph::Graph>>("g");
  REQUIRE(sub);
  CHECK(sub->name == "attr_subgraph");
  REQUIRE(sub->nodes.size() == 1);
  CHECK(sub->nodes[0].op_type == "Identity");
  CHECK(sub->nodes[0].name == "sub_identity");
  REQUIRE(sub->inputs.size() == 1);
  CHECK(sub->inputs[0].name == "x");
  CHECK(sub->inputs[0].shape == std::vector<Dim>{Dim{2, ""}});
  REQUIRE(sub->outputs.size() == 1);
  CHECK(sub->outputs[0].name == "sub_out");
  CHECK(sub->opsets.empty());  // opsets belong to the model
}

TEST_CASE("onnx::load reads initializers of every dtype from raw_data and typed fields", "[onnx]") {
  const auto g = nabla::onnx::load(fixture("initializers.onnx"));
  CHECK(g.initializers.size() == 18);
  // f32_raw is also listed as a graph input (older exporters): not an input here.
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "X");
  for (const std::string field : {"_raw", "_typed"}) {
    INFO("field " << field);
    CHECK(onnx_load_shape(g, "f32" + field) == nabla::Shape{2, 3});
    CHECK(onnx_load_values<float>(g, "f32" + field) == std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 7.75f});
    CHECK(std::signbit(onnx_load_values<float>(g, "f32" + field)[4]));
    CHECK(onnx_load_values<double>(g, "f64" + field) == std::vector<double>{0.1, -2.5, 1e100});
    CHECK(onnx_load_shape(g, "i64" + field) == nabla::Shape{2, 2});
    CHECK(onnx_load_values<std::int64_t>(g, "i64" + field) ==
          std::vector<std::int64_t>{1, -2, std::int64_t{1} << 40, -(std::int64_t{1} << 62)});
    CHECK(onnx_load_values<std::int32_t>(g, "i32" + field) == std::vector<std::int32_t>{7, -8, 2147483647});
    CHECK(onnx_load_values<std::int8_t>(g, "i8" + field) == std::vector<std::int8_t>{-128, -1, 0, 127});
    CHECK(onnx_load_values<std::uint8_t>(g, "u8" + field) == std::vector<std::uint8_t>{0, 1, 200, 255});
    CHECK(onnx_load_values<bool>(g, "b" + field) == std::vector<bool>{true, false, true});
    // FLOAT16 widens to float32 exactly (65504 is the largest half, 2^-24 the smallest subnormal).
    CHECK(g.initializers.at("f16" + field).dtype() == DType::float32);
    CHECK(onnx_load_values<float>(g, "f16" + field) == std::vector<float>{1.0f, -0.5f, 65504.0f, std::ldexp(1.0f, -24)});
  }
  CHECK(onnx_load_shape(g, "scalar") == nabla::Shape{});
  CHECK(onnx_load_values<float>(g, "scalar") == std::vector<float>{4.5f});
  CHECK(onnx_load_shape(g, "empty") == nabla::Shape{0, 3});
  CHECK(g.initializers.at("empty").numel() == 0);
  CHECK(g.parameter_count() == 2 * (6 + 3 + 4 + 3 + 4 + 4 + 3 + 4) + 1);
}

TEST_CASE("onnx::load reads external data relative to the model's folder", "[onnx]") {
  const auto g = nabla::onnx::load(fixture("external.onnx"));
  REQUIRE(g.initializers.size() == 2);
  CHECK(onnx_load_shape(g, "W") == nabla::Shape{3, 4});
  std::vector<float> w;
  for (int i = 0; i < 12; ++i) w.push_back(static_cast<float>(i) / 4);
  CHECK(onnx_load_values<float>(g, "W") == w);
  CHECK(onnx_load_values<double>(g, "B") == std::vector<double>{1.0, -1.0, 0.5, 2.0});
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].shape == std::vector<Dim>{Dim{-1, "batch"}, Dim{3, ""}});
  CHECK(g.outputs[0].shape == std::vector<Dim>{Dim{-1, "batch"}, Dim{4, ""}});

  // From memory, with the folder given; and without it, a missing file.
  const std::string bytes = read_file(fixture("external.onnx"));
  const auto from_bytes = nabla::onnx::load_from_bytes(bytes, fixture_dir());
  CHECK(onnx_load_values<float>(from_bytes, "W") == w);
  ScratchDir dir("external");
  write_file(dir.file("external.onnx"), bytes);
  CHECK_THROWS_AS(nabla::onnx::load(dir.file("external.onnx")), nabla::IOError);
  CHECK_THROWS_WITH(nabla::onnx::load(dir.file("external.onnx")),
                    Catch::StartsWith("onnx::load: " + dir.file("external.onnx") + ": initializer 'W'") &&
                        Catch::Contains(dir.file("external.bin")) && Catch::Contains("missing"));
}

TEST_CASE("onnx::load reads If with its subgraphs", "[onnx]") {
  const auto g = nabla::onnx::load(fixture("if.onnx"));
  CHECK(g.opsets == std::map<std::string, std::int64_t>{{"", 13}});
  REQUIRE(g.inputs.size() == 2);
  CHECK(g.inputs[0].name == "cond");
  CHECK(g.inputs[0].dtype == DType::boolean);
  CHECK(g.inputs[0].has_shape);
  CHECK(g.inputs[0].shape.empty());
  REQUIRE(g.nodes.size() == 1);
  const auto& node = g.nodes[0];
  CHECK(node.op_type == "If");
  CHECK(node.inputs == std::vector<std::string>{"cond"});
  const auto& then_branch = node.get<std::shared_ptr<const nabla::graph::Graph>>("then_branch");
  const auto& else_branch = node.get<std::shared_ptr<const nabla::graph::Graph>>("else_branch");
  REQUIRE(then_branch);
  REQUIRE(else_branch);
  CHECK(then_branch->name == "then_branch");
  CHECK(then_branch->inputs.empty());
  REQUIRE(then_branch->nodes.size() == 1);
  CHECK(then_branch->nodes[0].op_type == "Add");
  CHECK(then_branch->nodes[0].inputs == std::vector<std::string>{"X", "one"});  // X from the outer graph
  CHECK(onnx_load_values<float>(*then_branch, "one") == std::vector<float>{1.0f, 1.0f});
  CHECK(then_branch->outputs.at(0).name == "then_out");
  REQUIRE(else_branch->nodes.size() == 1);
  CHECK(else_branch->nodes[0].op_type == "Neg");
  CHECK(else_branch->outputs.at(0).name == "else_out");
}

TEST_CASE("onnx::load reads a model exported by torch.onnx.export", "[onnx]") {
  const auto g = nabla::onnx::load(fixture("torch_mlp.onnx"));
  const auto ref = nabla::testing::fixture("onnx_torch").get("mlp");
  CHECK(g.opsets == std::map<std::string, std::int64_t>{{"", 13}});
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "input");
  CHECK(g.inputs[0].shape == std::vector<Dim>{Dim{-1, "batch"}, Dim{4, ""}});
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.outputs[0].name == "output");
  CHECK(g.outputs[0].shape == std::vector<Dim>{Dim{-1, "batch"}, Dim{3, ""}});
  CHECK(g.op_counts() == std::map<std::string, std::int64_t>{{"Gemm", 2}, {"Relu", 1}});
  REQUIRE(g.nodes.size() == 3);
  CHECK(g.nodes[0].inputs == std::vector<std::string>{"input", "0.weight", "0.bias"});
  CHECK(g.nodes[0].attr_float("alpha", 0.0) == 1.0);
  CHECK(g.nodes[0].attr_float("beta", 0.0) == 1.0);
  CHECK(g.nodes[0].attr_int("transB") == 1);
  CHECK(g.nodes[2].outputs == std::vector<std::string>{"output"});
  for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias"}) {
    INFO(name);
    const auto expected = ref.tensor<float>(name);
    CHECK(onnx_load_shape(g, name) == expected.shape());
    CHECK(onnx_load_values<float>(g, name) == expected.to_vector());
  }
  CHECK(g.parameter_count() == 8 * 4 + 8 + 3 * 8 + 3);
}

TEST_CASE("onnx::load turns bad files into nabla::Errors that name the file", "[onnx]") {
  ScratchDir dir("bad");

  SECTION("truncated") {
    const std::string path = dir.file("truncated.onnx");
    write_file(path, read_file(fixture("torch_mlp.onnx")).substr(0, 100));
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::IOError);
    CHECK_THROWS_WITH(nabla::onnx::load(path), Catch::StartsWith("onnx::load: " + path + ": not an ONNX model"));
  }
  SECTION("garbage") {
    std::string bytes;
    std::uint32_t state = 12345;
    for (int i = 0; i < 512; ++i) {
      state = state * 1664525u + 1013904223u;
      bytes.push_back(static_cast<char>(state >> 24));
    }
    const std::string path = dir.file("garbage.onnx");
    write_file(path, bytes);
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::IOError);
    CHECK_THROWS_WITH(nabla::onnx::load(path), Catch::StartsWith("onnx::load: " + path + ": not an ONNX model"));
    CHECK_THROWS_WITH(nabla::onnx::load_from_bytes(bytes), Catch::StartsWith("onnx::load_from_bytes: not an ONNX model"));
  }
  SECTION("an empty file parses as an empty message, which the checker rejects") {
    const std::string path = dir.file("empty.onnx");
    write_file(path, "");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::IOError);
    CHECK_THROWS_WITH(nabla::onnx::load(path), Catch::StartsWith("onnx::load: " + path + ": the model fails ONNX's checker"));
  }
  SECTION("missing file") {
    const std::string path = dir.file("nope.onnx");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::IOError);
    CHECK_THROWS_WITH(nabla::onnx::load(path), "onnx::load: " + path + ": no such file");
  }
  SECTION("a folder") {
    CHECK_THROWS_AS(nabla::onnx::load(fixture_dir()), nabla::IOError);
  }
  SECTION("missing external data file") {
    const std::string path = fixture("external_missing.onnx");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::IOError);
    CHECK_THROWS_WITH(nabla::onnx::load(path), Catch::StartsWith("onnx::load: " + path + ": initializer 'W'") &&
                                                   Catch::Contains(fixture("missing.bin")));
  }
  SECTION("short external data file") {
    const std::string path = fixture("external_short.onnx");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::IOError);
    CHECK_THROWS_WITH(nabla::onnx::load(path),
                      Catch::StartsWith("onnx::load: " + path + ": initializer 'W'") &&
                          Catch::Contains(fixture("external_short.bin") + " is too short: needs 48 bytes"));
  }
  SECTION("negative dimension") {
    const std::string path = fixture("negative_dim.onnx");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::ValueError);
    CHECK_THROWS_WITH(nabla::onnx::load(path),
                      "onnx::load: " + path + ": initializer 'W': negative dimension in shape [-2, 3]");
  }
  SECTION("element count beyond int64") {
    const std::string path = fixture("huge_dim.onnx");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::ValueError);
    CHECK_THROWS_WITH(nabla::onnx::load(path), Catch::StartsWith("onnx::load: " + path + ": ") &&
                                                   Catch::Contains("the element count of shape [4611686018427387904, 4] overflows"));
  }
  SECTION("a shape larger than its data") {
    const std::string path = fixture("lying_dim.onnx");
    CHECK_THROWS_AS(nabla::onnx::load(path), nabla::Error);
    CHECK_THROWS_WITH(nabla::onnx::load(path), "onnx::load: " + path + ": initializer 'W': shape [1000000, 1000000] needs "
                                               "1000000000000 elements of 4 bytes but it holds 24 bytes");
  }
}

namespace {

// A one-node model (Identity of initializer W, or a custom node) built
// directly with ONNX's classes, for the cases no exporter writes.
ONNX_NAMESPACE::ModelProto onnx_load_model_with(const ONNX_NAMESPACE::TensorProto& w) {
  ONNX_NAMESPACE::ModelProto m;
  m.set_ir_version(8);
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("made_in_cpp");
  *g->add_initializer() = w;
  auto* node = g->add_node();
  node->set_op_type("Identity");
  node->add_input(w.name());
  node->add_output("Y");
  auto* out = g->add_output();
  out->set_name("Y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(w.data_type());
  for (const auto d : w.dims()) out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  return m;
}

std::string onnx_load_error(const ONNX_NAMESPACE::ModelProto& m) {
  try {
    nabla::onnx::load_from_bytes(m.SerializeAsString());
  } catch (const nabla::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("onnx::load reports what nabla does not support, and values that do not fit", "[onnx]") {
  ONNX_NAMESPACE::TensorProto w;
  w.set_name("W");
  w.add_dims(2);

  SECTION("string tensors") {
    w.set_data_type(ONNX_NAMESPACE::TensorProto::STRING);
    w.add_string_data("a");
    w.add_string_data("b");
    CHECK(onnx_load_error(onnx_load_model_with(w)) ==
          "onnx::load_from_bytes: initializer 'W': element type STRING is not supported (nabla reads FLOAT, "
          "DOUBLE, INT64, INT32, INT8, UINT8, BOOL and FLOAT16)");
  }
  SECTION("an int8 value outside [-128, 127] in int32_data") {
    w.set_data_type(ONNX_NAMESPACE::TensorProto::INT8);
    w.add_int32_data(5);
    w.add_int32_data(300);
    CHECK(onnx_load_error(onnx_load_model_with(w)) ==
          "onnx::load_from_bytes: initializer 'W': value 300 at index 1 does not fit its element type");
  }
  SECTION("raw_data of the wrong size") {
    w.set_data_type(ONNX_NAMESPACE::TensorProto::DOUBLE);
    w.set_raw_data(std::string(12, '\0'));
    CHECK(onnx_load_error(onnx_load_model_with(w)) ==
          "onnx::load_from_bytes: initializer 'W': shape [2] needs 2 elements of 8 bytes but it holds 12 bytes");
  }
  SECTION("a typed field with too few values") {
    w.set_data_type(ONNX_NAMESPACE::TensorProto::INT64);
    w.add_int64_data(1);
    CHECK(onnx_load_error(onnx_load_model_with(w)) ==
          "onnx::load_from_bytes: initializer 'W': shape [2] needs 2 elements but int64_data holds 1");
  }
  SECTION("attribute kinds and value types") {
    w.set_data_type(ONNX_NAMESPACE::TensorProto::FLOAT);
    w.add_float_data(1.0f);
    w.add_float_data(2.0f);
    auto m = onnx_load_model_with(w);
    auto* opset = m.add_opset_import();
    opset->set_domain("com.nabla.test");
    opset->set_version(1);
    auto* node = m.mutable_graph()->mutable_node(0);
    node->set_op_type("Custom");
    node->set_domain("com.nabla.test");
    node->set_name("custom");
    auto* a = node->add_attribute();
    a->set_name("many");
    a->set_type(ONNX_NAMESPACE::AttributeProto::TENSORS);
    *a->add_tensors() = w;
    CHECK(onnx_load_error(m) ==
          "onnx::load_from_bytes: attribute 'many' of Custom node 'custom': attributes of kind TENSORS are not supported");
    node->clear_attribute();
    auto* seq = m.mutable_graph()->mutable_output(0)->mutable_type();
    seq->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(
        ONNX_NAMESPACE::TensorProto::FLOAT);
    CHECK(onnx_load_error(m) == "onnx::load_from_bytes: output 'Y' is not a tensor (sequence, map, optional and "
                                "sparse values are not supported)");
  }
  SECTION("the same model loads when nothing is wrong") {
    w.set_data_type(ONNX_NAMESPACE::TensorProto::FLOAT);
    w.add_float_data(1.0f);
    w.add_float_data(2.0f);
    CHECK(onnx_load_error(onnx_load_model_with(w)) == "(no error)");
  }
}

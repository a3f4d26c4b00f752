// The model zoo (scripts/onnx_zoo.py): torchvision models exported by
// torch.onnx.export run in graph::Session<float> and agree with PyTorch's
// float64 outputs (max|diff| / max|ref| <= 1e-5, same top-1; detectors: same
// boxes, scores and labels where the scores are not tied). Reads the manifest
// named by NABLA_ONNX_ZOO and prints one table line per model.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nabla/graph.hpp"
#include "nabla/onnx.hpp"

namespace graph = nabla::graph;

namespace {

// A C-order little-endian .npy file (float32, float64, int64) as a Value.
graph::Value zoo_read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw nabla::ValueError("npy: " + path + ": not a .npy file");
  const bool v1 = bytes[6] == 1;
  const std::size_t len_bytes = v1 ? 2 : 4;
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i) header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  const std::size_t data_at = 8 + len_bytes + header_len;
  const std::string header = bytes.substr(8 + len_bytes, header_len);
  auto field = [&](const std::string& key) {
    const auto at = header.find("'" + key + "'");
    if (at == std::string::npos) throw nabla::ValueError("npy: " + path + ": no '" + key + "' in the header");
    return header.substr(header.find(':', at) + 1);
  };
  const std::string descr = field("descr");
  if (field("fortran_order").find("False") > 2) throw nabla::ValueError("npy: " + path + ": Fortran order");
  const std::string shape_text = field("shape");
  std::vector<std::int64_t> dims;
  for (std::size_t i = shape_text.find('(') + 1; i < shape_text.size() && shape_text[i] != ')'; ++i) {
    if (std::isdigit(static_cast<unsigned char>(shape_text[i]))) {
      std::size_t used = 0;
      dims.push_back(std::stoll(shape_text.substr(i), &used));
      i += used - 1;
    }
  }
  const nabla::Shape shape(dims);
  auto make = [&](auto zero) -> graph::Value {
    using T = decltype(zero);
    std::vector<T> data(static_cast<std::size_t>(shape.numel()));
    if (bytes.size() < data_at + data.size() * sizeof(T)) throw nabla::ValueError("npy: " + path + ": truncated");
    if (!data.empty()) std::memcpy(data.data(), bytes.data() + data_at, data.size() * sizeof(T));
    return nabla::Tensor<T>(shape, std::move(data));
  };
  if (descr.find("<f4") != std::string::npos) return make(float{});
  if (descr.find("<f8") != std::string::npos) return make(double{});
  if (descr.find("<i8") != std::string::npos) return make(std::int64_t{});
  throw nabla::ValueError("npy: " + path + ": unsupported dtype " + descr);
}

struct ZooAgreement {
  double rel_diff = 0;
  std::string problem;  // empty when the outputs agree
};

// max |out - ref| / max |ref| over all elements.
double zoo_rel_diff(const std::vector<double>& out, const std::vector<double>& ref) {
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    scale = std::max(scale, std::abs(ref[i]));
    diff = std::max(diff, std::abs(out[i] - ref[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

ZooAgreement zoo_check_classifier(const graph::Value& out, const graph::Value& ref) {
  ZooAgreement a;
  if (!(out.shape() == ref.shape())) {
    a.problem = "output shape " + to_string(out.shape()) + ", reference " + to_string(ref.shape());
    return a;
  }
  const std::vector<double> o = out.to<double>().to_vector(), r = ref.to<double>().to_vector();
  a.rel_diff = zoo_rel_diff(o, r);
  if (!(a.rel_diff <= 1e-5)) a.problem = "max rel diff above 1e-5";
  const std::size_t cols = static_cast<std::size_t>(ref.shape()[ref.shape().size() - 1]);
  for (std::size_t row = 0; cols > 0 && row * cols < r.size(); ++row) {
    const auto ob = o.begin() + static_cast<std::ptrdiff_t>(row * cols);
    const auto rb = r.begin() + static_cast<std::ptrdiff_t>(row * cols);
    if (std::max_element(ob, ob + static_cast<std::ptrdiff_t>(cols)) - ob !=
        std::max_element(rb, rb + static_cast<std::ptrdiff_t>(cols)) - rb) {
      a.problem += std::string(a.problem.empty() ? "" : "; ") + "top-1 differs in row " + std::to_string(row);
    }
  }
  return a;
}

// boxes [N, 4], scores [N], labels [N]: the same detections in the same
// order, compared where a reference score is not tied (within 1e-5 of its
// scale) with a neighbour, since tied scores may come out in either order.
// `names` are the graph's output names, in the order of `out` and `ref`
// (SSD returns boxes, scores, labels; Faster R-CNN boxes, labels, scores).
ZooAgreement zoo_check_detector(std::vector<graph::Value> out, std::vector<graph::Value> ref,
                                const std::vector<std::string>& names) {
  ZooAgreement a;
  if (out.size() != 3 || ref.size() != 3 || names.size() != 3) {
    a.problem = "expected boxes, scores and labels";
    return a;
  }
  std::vector<graph::Value> by_name_out, by_name_ref;
  for (const char* wanted : {"boxes", "scores", "labels"}) {
    const auto it = std::find(names.begin(), names.end(), wanted);
    if (it == names.end()) {
      a.problem = std::string("no output named ") + wanted;
      return a;
    }
    by_name_out.push_back(out[static_cast<std::size_t>(it - names.begin())]);
    by_name_ref.push_back(ref[static_cast<std::size_t>(it - names.begin())]);
  }
  out = std::move(by_name_out);
  ref = std::move(by_name_ref);
  for (std::size_t k = 0; k < 3; ++k) {
    if (!(out[k].shape() == ref[k].shape())) {
      a.problem = "output " + std::to_string(k) + " shape " + to_string(out[k].shape()) + ", reference " + to_string(ref[k].shape());
      return a;
    }
  }
  const std::vector<double> ob = out[0].to<double>().to_vector(), rb = ref[0].to<double>().to_vector();
  const std::vector<double> os = out[1].to<double>().to_vector(), rs = ref[1].to<double>().to_vector();
  const std::vector<double> ol = out[2].to<double>().to_vector(), rl = ref[2].to<double>().to_vector();
  double box_scale = 0, score_scale = 0;
  for (double v : rb) box_scale = std::max(box_scale, std::abs(v));
  for (double v : rs) score_scale = std::max(score_scale, std::abs(v));
  const double tie = 1e-5 * std::max(score_scale, 1e-30);
  double box_diff = 0, score_diff = 0;
  std::size_t compared = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const bool tied = (i > 0 && std::abs(rs[i] - rs[i - 1]) <= tie) || (i + 1 < rs.size() && std::abs(rs[i] - rs[i + 1]) <= tie);
    if (tied) continue;
    ++compared;
    score_diff = std::max(score_diff, std::abs(os[i] - rs[i]));
    for (std::size_t c = 0; c < 4; ++c) box_diff = std::max(box_diff, std::abs(ob[4 * i + c] - rb[4 * i + c]));
    if (ol[i] != rl[i]) a.problem = "label of detection " + std::to_string(i) + " differs";
  }
  // A check that compares nothing cannot fail: untrained heads give no
  // detections or only tied ones (scripts/onnx_zoo.py calibrates them).
  if (compared < 10) {
    a.problem = "only " + std::to_string(compared) + " of " + std::to_string(rs.size()) +
                " reference detections are untied: too few to compare";
  }
  a.rel_diff = std::max(box_scale == 0 ? box_diff : box_diff / box_scale, score_scale == 0 ? score_diff : score_diff / score_scale);
  if (!(a.rel_diff <= 1e-5)) a.problem += std::string(a.problem.empty() ? "" : "; ") + "max rel diff above 1e-5";
  return a;
}

}  // namespace

TEST_CASE("the model zoo named by NABLA_ONNX_ZOO runs and agrees with PyTorch", "[onnx][zoo]") {
  const char* manifest_path = std::getenv("NABLA_ONNX_ZOO");
  if (manifest_path == nullptr || *manifest_path == '\0') {
    WARN("NABLA_ONNX_ZOO is unset: the model zoo is skipped (export it with scripts/onnx_zoo.py)");
    return;
  }
  std::ifstream in(manifest_path);
  REQUIRE(in.good());
  const nlohmann::json manifest = nlohmann::json::parse(in);
  const std::filesystem::path dir = std::filesystem::path(manifest_path).parent_path();
  int threads = 2;
  if (const char* t = std::getenv("NABLA_ONNX_ZOO_THREADS")) threads = std::max(1, std::atoi(t));

  std::printf("%-48s %5s %-7s %-10s %12s %10s  %s\n", "model", "opset", "folding", "status", "max rel diff", "run ms", "detail");
  int failed = 0, export_failed = 0, passed = 0;
  for (const auto& m : manifest.at("models")) {
    const std::string name = m.at("name");
    const std::string folding = m.at("folding").get<bool>() ? "on" : "off";
    const long opset = m.at("opset").get<long>();
    std::string status = "ok", detail;
    double rel_diff = NAN, ms = NAN;
    if (m.contains("error")) {
      status = "export-err";
      detail = m.at("error").get<std::string>();
      ++export_failed;
    } else {
      try {
        const graph::Graph g = nabla::onnx::load((dir / m.at("file").get<std::string>()).string());
        const graph::Session<float> session(g, graph::SessionOptions().threads(threads));
        std::vector<graph::Value> inputs, refs;
        for (const auto& f : m.at("inputs")) inputs.push_back(zoo_read_npy((dir / f.get<std::string>()).string()));
        for (const auto& f : m.at("outputs")) refs.push_back(zoo_read_npy((dir / f.get<std::string>()).string()));
        const auto start = std::chrono::steady_clock::now();
        const std::vector<graph::Value> outputs = session.run_values(inputs);
        ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        const ZooAgreement a = m.value("detector", false) ? zoo_check_detector(outputs, refs, session.output_names())
                                                          : zoo_check_classifier(outputs.at(0), refs.at(0));
        rel_diff = a.rel_diff;
        if (!a.problem.empty()) {
          status = "MISMATCH";
          detail = a.problem;
        }
        // A dynamic batch axis must take other batch sizes: the input three
        // times over must give the reference's row three times.
        if (status == "ok" && m.value("dynamic", false) && !m.value("detector", false) && inputs.size() == 1 &&
            inputs[0].is<float>()) {
          const nabla::Tensor<float>& x = inputs[0].as<float>();
          const std::vector<graph::Value> tripled =
              session.run_values({nabla::concat(std::vector<nabla::Tensor<float>>{x, x, x}, 0)});
          const nabla::Tensor<double> ref3 =
              nabla::concat(std::vector<nabla::Tensor<double>>{refs[0].to<double>(), refs[0].to<double>(), refs[0].to<double>()}, 0);
          const ZooAgreement b = zoo_check_classifier(tripled.at(0), ref3);
          rel_diff = std::max(rel_diff, b.rel_diff);
          if (!b.problem.empty()) {
            status = "MISMATCH";
            detail = "at batch 3: " + b.problem;
          }
        }
      } catch (const std::exception& e) {
        status = "FAILED";
        detail = e.what();
      }
      if (status == "ok") ++passed; else ++failed;
    }
    std::printf("%-48s %5ld %-7s %-10s %12.3g %10.1f  %s\n", name.c_str(), opset, folding.c_str(), status.c_str(), rel_diff,
                ms, detail.substr(0, 400).c_str());
    std::fflush(stdout);
    if (status != "ok" && status != "export-err") FAIL_CHECK(name << ": " << status << ": " << detail);
    if (status == "export-err") WARN(name << ": torch.onnx.export failed: " << detail);
  }
  std::printf("zoo: %d agree, %d fail, %d not exportable by torch.onnx\n", passed, failed, export_failed);
  CHECK(passed + failed > 0);
}

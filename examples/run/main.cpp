// nabla-run: the first thing to run on an ONNX model. Prints its inputs,
// outputs, op counts, parameters and FLOPs, runs it once on seeded random
// input (or on .npy / raw files) and prints the outputs; with --bench it
// reports latency, throughput, cold start and memory like ONNX Runtime's
// perf test. Exit codes: 0 success, 1 runtime error, 2 usage error.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nabla/graph.hpp>
#include <nabla/onnx.hpp>

#include "npy.hpp"

namespace {

namespace graph = nabla::graph;
using Clock = std::chrono::steady_clock;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model;
  std::vector<std::string> dims;    // NAME=VALUE
  std::vector<std::string> inputs;  // NAME=FILE
  bool bench = false;
  int warmup = 5;
  int runs = 50;
  double seconds = 0.0;
  int threads = 1;
  bool json = false;
  bool profile = false;
  std::uint64_t seed = 0;
  int show = 5;
};

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

// Resident set size now, from /proc/self/statm (0 where it is unavailable).
std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

// The process's peak resident set size (Linux reports ru_maxrss in KiB).
std::int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
}

std::size_t element_size(graph::DType d) {
  switch (d) {
    case graph::DType::float64:
    case graph::DType::int64: return 8;
    case graph::DType::float32:
    case graph::DType::int32: return 4;
    default: return 1;
  }
}

std::string human(double v, const char* unit) {
  const char* prefixes[] = {"", " K", " M", " G", " T"};
  int p = 0;
  while (std::fabs(v) >= 1000.0 && p < 4) v /= 1000.0, ++p;
  std::ostringstream s;
  s.precision(p == 0 ? 6 : 3);
  s << std::fixed << v << prefixes[p] << unit;
  std::string text = s.str();
  if (p == 0) text = std::to_string(static_cast<long long>(v)) + unit;
  return text;
}

std::string mib(std::int64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string json_dims(const std::vector<graph::Dim>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += dims[i].known() ? std::to_string(dims[i].extent) : json_string(dims[i].symbol.empty() ? "?" : dims[i].symbol);
  }
  return s + "]";
}

std::string json_shape(const nabla::Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Splits NAME=VALUE (for --dim and --input).
std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw UsageError(nabla::detail::message(flag, " '", text, "': expected NAME=", flag == std::string("--dim") ? "VALUE" : "FILE"));
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

// Multiply-adds of one Conv / ConvTranspose / Gemm / MatMul node from the
// shapes it ran with; 0 for other ops.
std::int64_t node_macs(const graph::Node& node, const std::vector<graph::Value>& in, const std::vector<graph::Value>& out) {
  if (out.empty() || !out[0].defined() || in.size() < 2 || !in[0].defined() || !in[1].defined()) return 0;
  const nabla::Shape& a = in[0].shape();
  const nabla::Shape& w = in[1].shape();
  if ((node.op_type == "Conv" || node.op_type == "ConvTranspose") && !w.empty() && w[0] > 0) {
    // Conv: each output element takes Cin/group * kernel products;
    // ConvTranspose: each input element feeds Cout/group * kernel of them.
    const std::int64_t per = w.numel() / w[0];
    return (node.op_type == "Conv" ? out[0].numel() : in[0].numel()) * per;
  }
  if (node.op_type == "Gemm" && a.size() == 2) {
    std::int64_t trans_a = 0;
    for (const auto& [key, value] : node.attributes) {
      if (key == "transA") {
        if (const auto* v = std::get_if<std::int64_t>(&value)) trans_a = *v;
      }
    }
    return out[0].numel() * (trans_a ? a[0] : a[1]);
  }
  if (node.op_type == "MatMul" && !a.empty()) return out[0].numel() * a[a.size() - 1];
  return 0;
}

graph::Value convert(const graph::Value& v, graph::DType to) {
  switch (to) {
    case graph::DType::float32: return v.to<float>();
    case graph::DType::float64: return v.to<double>();
    case graph::DType::int64: return v.to<std::int64_t>();
    case graph::DType::int32: return v.to<std::int32_t>();
    case graph::DType::int8: return v.to<std::int8_t>();
    case graph::DType::uint8: return v.to<std::uint8_t>();
    default: return v;
  }
}

bool is_floating(graph::DType d) { return d == graph::DType::float32 || d == graph::DType::float64; }

// Random input of `shape`: standard normal for floating dtypes; zeros for
// integer and bool inputs (valid as indices, token ids and masks).
graph::Value random_input(graph::DType dtype, const nabla::Shape& shape, nabla::Generator& gen) {
  switch (dtype) {
    case graph::DType::float32: return nabla::randn<float>(shape, gen);
    case graph::DType::float64: return nabla::randn<double>(shape, gen);
    case graph::DType::int64: return nabla::Tensor<std::int64_t>(shape);
    case graph::DType::int32: return nabla::Tensor<std::int32_t>(shape);
    case graph::DType::int8: return nabla::Tensor<std::int8_t>(shape);
    case graph::DType::uint8: return nabla::Tensor<std::uint8_t>(shape);
    case graph::DType::boolean: return nabla::Tensor<bool>(shape);
    default: throw nabla::ValueError("nabla-run: an input has no dtype");
  }
}

struct LatencyStats {
  double min = 0, max = 0, mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, total = 0;
};

// Percentiles by the nearest-rank rule on the sorted latencies.
LatencyStats latency_stats(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  const auto rank = [&](double p) {
    const auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ms.size())));
    return ms[std::min(ms.size() - 1, k == 0 ? 0 : k - 1)];
  };
  for (const double v : ms) s.total += v;
  s.min = ms.front();
  s.max = ms.back();
  s.mean = s.total / static_cast<double>(ms.size());
  s.p50 = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  s.p90 = rank(0.90);
  s.p95 = rank(0.95);
  s.p99 = rank(0.99);
  return s;
}

int run_tool(const Options& o) {
  std::ostream& text = std::cout;
  const bool say = !o.json;  // human-readable output goes to stdout unless --json
  std::ostringstream json;

  std::map<std::string, std::int64_t> dim_values;
  for (const std::string& d : o.dims) {
    const auto parts = split_assignment(d, "--dim");
    std::int64_t v = 0;
    std::size_t used = 0;
    try {
      v = std::stoll(parts.second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != parts.second.size() || v < 0) throw UsageError("--dim '" + d + "': VALUE must be a non-negative integer");
    dim_values[parts.first] = v;
  }
  std::map<std::string, std::string> input_files;
  for (const std::string& i : o.inputs) input_files.insert(split_assignment(i, "--input"));

  // Load and build the session, timing each and watching the RSS.
  const std::int64_t rss_before_load = rss_bytes();
  auto start = Clock::now();
  graph::Graph g = nabla::onnx::load(o.model);
  const double load_ms = ms_since(start);
  const std::int64_t rss_after_load = rss_bytes();

  // The model's declared signature and statistics, from the graph itself.
  std::int64_t parameter_bytes = 0;
  for (const auto& [name, value] : g.initializers) {
    parameter_bytes += value.numel() * static_cast<std::int64_t>(element_size(value.dtype()));
  }
  std::vector<std::pair<std::string, std::int64_t>> ops;
  for (const auto& [op, count] : g.op_counts()) ops.emplace_back(op, count);
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });

  if (say) {
    text << "Model: " << o.model << (g.name.empty() ? "" : " (graph '" + g.name + "')") << ", opsets";
    for (const auto& [domain, version] : g.opsets) text << " " << (domain.empty() ? "ai.onnx" : domain) << ":" << version;
    text << "\nInputs:\n";
  }
  std::vector<const graph::ValueInfo*> model_inputs;
  for (const graph::ValueInfo& in : g.inputs) {
    if (!g.initializers.count(in.name)) model_inputs.push_back(&in);
  }
  for (const graph::ValueInfo* in : model_inputs) {
    if (say) text << "  " << in->name << ": " << graph::dtype_name(in->dtype) << " " << (in->has_shape ? graph::to_string(in->shape) : "(rank unknown)") << "\n";
  }
  if (say) text << "Outputs:\n";
  for (const graph::ValueInfo& out : g.outputs) {
    if (say) text << "  " << out.name << ": " << graph::dtype_name(out.dtype) << " " << (out.has_shape ? graph::to_string(out.shape) : "(rank unknown)") << "\n";
  }
  if (say) {
    text << "Ops (" << g.nodes.size() << " nodes):";
    for (const auto& [op, count] : ops) text << " " << op << " " << count;
    text << "\nParameters: " << g.parameter_count() << " (" << parameter_bytes << " bytes, " << mib(parameter_bytes) << ")\n";
  }

  // The inputs: files where given, random otherwise; symbolic dimensions
  // from --dim (1 by default).
  for (const auto& [name, file] : input_files) {
    bool known = false;
    for (const graph::ValueInfo* in : model_inputs) known = known || in->name == name;
    if (!known) {
      std::string names;
      for (const graph::ValueInfo* in : model_inputs) names += (names.empty() ? "'" : ", '") + in->name + "'";
      throw UsageError("--input " + name + "=" + file + ": the model has no input named '" + name + "' (inputs: " + names + ")");
    }
  }
  std::vector<std::string> symbols;
  for (const graph::ValueInfo* in : model_inputs) {
    for (const graph::Dim& d : in->shape) {
      if (!d.known() && !d.symbol.empty()) symbols.push_back(d.symbol);
    }
  }
  for (const auto& [name, value] : dim_values) {
    if (std::find(symbols.begin(), symbols.end(), name) == symbols.end()) {
      std::string list;
      for (const auto& s : symbols) list += (list.empty() ? "'" : ", '") + s + "'";
      throw UsageError("--dim " + name + ": the model's inputs have no dimension named '" + name + "' (symbolic dimensions: " +
                       (list.empty() ? "none" : list) + ")");
    }
  }
  nabla::Generator gen(o.seed);
  std::vector<graph::Value> feeds;
  for (const graph::ValueInfo* in : model_inputs) {
    std::vector<std::int64_t> extents;
    for (const graph::Dim& d : in->shape) {
      if (d.known()) {
        extents.push_back(d.extent);
      } else {
        const auto it = dim_values.find(d.symbol);
        extents.push_back(it == dim_values.end() ? 1 : it->second);
      }
    }
    const nabla::Shape shape(extents);
    const auto file = input_files.find(in->name);
    graph::Value v;
    if (file == input_files.end()) {
      v = random_input(in->dtype, shape, gen);
    } else if (file->second.size() >= 4 && file->second.compare(file->second.size() - 4, 4, ".npy") == 0) {
      v = nabla_run::read_npy(file->second);
      if (v.dtype() != in->dtype) {
        if (is_floating(v.dtype()) != is_floating(in->dtype) || in->dtype == graph::DType::boolean) {
          throw nabla::ValueError(nabla::detail::message(file->second, ": the array is ", graph::dtype_name(v.dtype()), " but input '",
                                                         in->name, "' is ", graph::dtype_name(in->dtype)));
        }
        v = convert(v, in->dtype);
      }
    } else {
      if (in->dtype != graph::DType::float32) {
        throw nabla::ValueError(nabla::detail::message(file->second, ": raw files hold float32, but input '", in->name, "' is ",
                                                       graph::dtype_name(in->dtype), " (use a .npy file)"));
      }
      v = nabla_run::read_raw_float32(file->second, shape);
    }
    feeds.push_back(std::move(v));
  }

  start = Clock::now();
  const graph::Session<float> session(std::move(g), graph::SessionOptions().threads(o.threads));
  const double session_ms = ms_since(start);
  const std::int64_t rss_after_session = rss_bytes();

  // The first run counts the FLOPs from the shapes each node ran with.
  std::map<std::string, std::int64_t> macs_by_op;
  const graph::NodeObserver count_macs = [&](const graph::Node& node, const std::vector<graph::Value>& in,
                                             const std::vector<graph::Value>& out) {
    const std::int64_t m = node_macs(node, in, out);
    if (m) macs_by_op[node.op_type] += m;
  };
  start = Clock::now();
  const std::vector<graph::Value> results = session.run_values(feeds, count_macs);
  const double first_run_ms = ms_since(start);
  std::int64_t flops = 0;
  for (const auto& [op, m] : macs_by_op) flops += 2 * m;

  if (say) {
    text << "FLOPs (one run, 2 x multiply-adds of Conv, Gemm, MatMul): " << flops << " (" << human(static_cast<double>(flops), "FLOP");
    for (const auto& [op, m] : macs_by_op) text << "; " << op << " " << human(2.0 * static_cast<double>(m), "");
    text << ")\nRan on:";
    for (std::size_t k = 0; k < feeds.size(); ++k) {
      const auto file = input_files.find(model_inputs[k]->name);
      text << " " << model_inputs[k]->name << " " << nabla::to_string(feeds[k].shape())
           << (file == input_files.end() ? " (random, seed " + std::to_string(o.seed) + ")" : " (" + file->second + ")");
    }
    text << "\nResults:\n";
  }
  std::string json_results;
  for (std::size_t k = 0; k < results.size(); ++k) {
    const graph::Value& r = results[k];
    const nabla::Tensor<double> values = r.to<double>().contiguous();
    double sum = 0.0;
    const double* d = values.data();
    const std::int64_t n = values.numel();
    for (std::int64_t i = 0; i < n; ++i) sum += d[i];
    std::string first;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(n, o.show); ++i) first += (i ? ", " : "") + json_number(d[i]);
    if (say) {
      text << "  " << session.output_names()[k] << ": " << graph::dtype_name(r.dtype()) << " " << nabla::to_string(r.shape())
           << " [" << first << (n > o.show ? ", ..." : "") << "] checksum (sum) " << json_number(sum) << "\n";
    }
    json_results += (k ? ", " : "") + std::string("{\"name\": ") + json_string(session.output_names()[k]) +
                    ", \"dtype\": " + json_string(graph::dtype_name(r.dtype())) + ", \"shape\": " + json_shape(r.shape()) +
                    ", \"first\": [" + first + "], \"checksum\": " + json_number(sum) + "}";
  }

  json << "{\"model\": " << json_string(o.model) << ", \"inputs\": [";
  for (std::size_t k = 0; k < model_inputs.size(); ++k) {
    json << (k ? ", " : "") << "{\"name\": " << json_string(model_inputs[k]->name) << ", \"dtype\": "
         << json_string(graph::dtype_name(model_inputs[k]->dtype)) << ", \"shape\": " << json_dims(model_inputs[k]->shape)
         << ", \"ran_with\": " << json_shape(feeds[k].shape()) << "}";
  }
  json << "], \"outputs\": [";
  for (std::size_t k = 0; k < session.graph().outputs.size(); ++k) {
    const graph::ValueInfo& out = session.graph().outputs[k];
    json << (k ? ", " : "") << "{\"name\": " << json_string(out.name) << ", \"dtype\": " << json_string(graph::dtype_name(out.dtype))
         << ", \"shape\": " << json_dims(out.shape) << "}";
  }
  json << "], \"op_counts\": {";
  for (std::size_t k = 0; k < ops.size(); ++k) json << (k ? ", " : "") << json_string(ops[k].first) << ": " << ops[k].second;
  json << "}, \"parameters\": " << session.graph().parameter_count() << ", \"parameter_bytes\": " << parameter_bytes
       << ", \"flops\": " << flops << ", \"results\": [" << json_results << "]";

  if (o.bench) {
    for (int i = 0; i < o.warmup; ++i) session.run_values(feeds);
    std::vector<double> latencies;
    const auto bench_start = Clock::now();
    while (true) {
      const auto t = Clock::now();
      session.run_values(feeds);
      latencies.push_back(ms_since(t));
      if (o.seconds > 0 ? ms_since(bench_start) >= 1000.0 * o.seconds : static_cast<int>(latencies.size()) >= o.runs) break;
    }
    const double wall_ms = ms_since(bench_start);
    const LatencyStats s = latency_stats(latencies);
    const double per_second = 1000.0 * static_cast<double>(latencies.size()) / wall_ms;
    const std::int64_t peak = peak_rss_bytes();
    const double cold_ms = load_ms + session_ms + first_run_ms;
    if (say) {
      char line[160];
      text << "Benchmark: threads " << o.threads << ", warmup " << o.warmup << ", " << latencies.size() << " runs\n";
      const auto ms_line = [&](const char* label, double v) {
        std::snprintf(line, sizeof line, "  %-40s %.3f ms\n", label, v);
        text << line;
      };
      ms_line("Model load time cost:", load_ms);
      ms_line("Session creation time cost:", session_ms);
      ms_line("First inference time cost:", first_run_ms);
      ms_line("Cold start (load + session + first run):", cold_ms);
      std::snprintf(line, sizeof line, "  %-40s %zu\n", "Total inference requests:", latencies.size());
      text << line;
      ms_line("Total inference run time:", wall_ms);
      std::snprintf(line, sizeof line, "  %-40s %.2f\n", "Number of inferences per second:", per_second);
      text << line;
      ms_line("Average inference time cost:", s.mean);
      ms_line("Min Latency:", s.min);
      ms_line("Max Latency:", s.max);
      ms_line("P50 Latency (median):", s.p50);
      ms_line("P90 Latency:", s.p90);
      ms_line("P95 Latency:", s.p95);
      ms_line("P99 Latency:", s.p99);
      text << "  RSS before load " << mib(rss_before_load) << ", after load " << mib(rss_after_load) << ", after session "
           << mib(rss_after_session) << "\n";
      std::snprintf(line, sizeof line, "  %-40s %lld bytes (%s)\n", "Peak working set size:", static_cast<long long>(peak), mib(peak).c_str());
      text << line;
      std::snprintf(line, sizeof line, "Latency: median %.3f ms, p90 %.3f ms, min %.3f ms, mean %.3f ms; %.2f inferences/s\n",
                    s.p50, s.p90, s.min, s.mean, per_second);
      text << line;
    }
    json << ", \"bench\": {\"threads\": " << o.threads << ", \"warmup\": " << o.warmup << ", \"runs\": " << latencies.size()
         << ", \"load_ms\": " << json_number(load_ms) << ", \"session_ms\": " << json_number(session_ms)
         << ", \"first_run_ms\": " << json_number(first_run_ms) << ", \"cold_start_ms\": " << json_number(cold_ms)
         << ", \"latency_ms\": {\"median\": " << json_number(s.p50) << ", \"p90\": " << json_number(s.p90) << ", \"p95\": "
         << json_number(s.p95) << ", \"p99\": " << json_number(s.p99) << ", \"min\": " << json_number(s.min)
         << ", \"max\": " << json_number(s.max) << ", \"mean\": " << json_number(s.mean) << "}, \"inferences_per_s\": "
         << json_number(per_second) << ", \"rss_before_load_bytes\": " << rss_before_load << ", \"rss_after_load_bytes\": "
         << rss_after_load << ", \"rss_after_session_bytes\": " << rss_after_session << ", \"peak_rss_bytes\": " << peak << "}";
  }
  if (o.profile) {
    // Time per op type over --runs runs: the observer sees each node right
    // after it ran, so a node's time is the gap since the previous one.
    std::map<std::string, double> ms_by_op;
    std::map<std::string, std::int64_t> nodes_by_op;
    Clock::time_point last;
    const graph::NodeObserver time_nodes = [&](const graph::Node& node, const std::vector<graph::Value>&,
                                               const std::vector<graph::Value>&) {
      const auto now = Clock::now();
      ms_by_op[node.op_type] += std::chrono::duration<double, std::milli>(now - last).count();
      ++nodes_by_op[node.op_type];
      last = now;
    };
    const int runs = std::max(1, o.runs);
    for (int i = 0; i < runs; ++i) {
      last = Clock::now();
      session.run_values(feeds, time_nodes);
    }
    std::vector<std::pair<std::string, double>> by_time(ms_by_op.begin(), ms_by_op.end());
    std::sort(by_time.begin(), by_time.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    double total = 0;
    for (const auto& entry : by_time) total += entry.second;
    if (say) {
      text << "Profile (" << runs << " runs, threads " << o.threads << ", the graph as optimized; ms per run):\n";
      for (const auto& [op, ms] : by_time) {
        char line[160];
        std::snprintf(line, sizeof line, "  %-24s %10.3f ms %6.1f%%  (%lld nodes)\n", op.c_str(), ms / runs,
                      total > 0 ? 100.0 * ms / total : 0.0, static_cast<long long>(nodes_by_op[op] / runs));
        text << line;
      }
    }
    json << ", \"profile_ms_per_run\": {";
    for (std::size_t k = 0; k < by_time.size(); ++k) {
      json << (k ? ", " : "") << json_string(by_time[k].first) << ": " << json_number(by_time[k].second / runs);
    }
    json << "}";
  }
  json << "}";
  if (o.json) std::cout << json.str() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Prints an ONNX model's inputs, outputs, op counts, parameters and FLOPs, runs it once on random "
               "input or on files, and with --bench measures latency and memory.",
               "nabla-run"};
  app.add_option("model", o.model, "the .onnx file")->required();
  app.add_option("--dim", o.dims, "NAME=VALUE: the extent of a symbolic input dimension (default 1); repeatable");
  app.add_option("--input", o.inputs, "NAME=FILE: an input from a .npy file (float32/float64/int64) or a raw float32 file "
                                      "with the model's shape; repeatable");
  app.add_flag("--bench", o.bench, "measure latency, throughput, cold start and memory");
  app.add_flag("--profile", o.profile, "time each op type over --runs runs (after --bench, if given)");
  app.add_option("--warmup", o.warmup, "untimed runs before measuring")->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_option("--runs", o.runs, "timed runs")->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--seconds", o.seconds, "time runs for this long instead of --runs")->check(CLI::Range(0.001, 86400.0));
  app.add_option("--threads", o.threads, "threads per run")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the random inputs")->capture_default_str();
  app.add_option("--show", o.show, "output values to print")->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_flag("--json", o.json, "print everything as one JSON object on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    std::cerr << "nabla-run: " << e.what() << "\nRun with --help for usage.\n";
    return 2;
  }
  try {
    return run_tool(o);
  } catch (const UsageError& e) {
    std::cerr << "nabla-run: " << e.what() << "\nRun with --help for usage.\n";
    return 2;
  } catch (const nabla::Error& e) {
    std::cerr << "nabla-run: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "nabla-run: " << e.what() << "\n";
  }
  return 1;
}

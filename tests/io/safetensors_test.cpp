// The safetensors format: exact bytes, round trips, PyTorch's files, and
// every malformed-file error with its message.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <variant>

#include "../support/fixture.hpp"
#include "helpers.hpp"
#include "nabla/core/random.hpp"
#include "nabla/io/safetensors.hpp"

using nabla::IOError;
using nabla::Shape;
using nabla::Tensor;
using nabla::ValueError;
using nabla::io::Dtype;
using nabla::io::NamedTensors;
using nabla::io::read_safetensors;
using nabla::io::read_safetensors_header;
using nabla::io::write_safetensors;
using nabla::io_test::fixture_file;
using nabla::io_test::read_bytes;
using nabla::io_test::TempDir;
using nabla::io_test::write_bytes;

namespace {

// 8-byte little-endian length, then the header, then the data.
std::string safetensors_bytes(const std::string& header, const std::string& data, std::uint64_t length) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  return out + header + data;
}
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes(header, data, header.size());
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

template <class T>
const Tensor<T>& get(const nabla::io::SafetensorsFile& file, const std::string& name) {
  for (const auto& [n, t] : file.tensors) {
    if (n == name) return std::get<Tensor<T>>(t);
  }
  FAIL("no tensor named " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("safetensors round trip of float, double and int64 tensors with metadata", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  const Tensor<float> f(Shape{2, 3}, {1.5f, -2.25f, 3e-8f, 1e30f, -0.0f, 7.0f});
  const Tensor<double> d(Shape{3}, {0.1, -1e-300, 12345.678901234567});
  const Tensor<std::int64_t> i(Shape{2, 1, 2}, {1, -2, INT64_MAX, INT64_MIN});
  write_safetensors(path, {{"weights.f", f}, {"d", d}, {"counts", i}}, {{"format", "pt"}, {"note", "héllo"}});

  const auto file = read_safetensors(path);
  REQUIRE(file.tensors.size() == 3);
  CHECK(file.tensors[0].first == "weights.f");  // data order = write order
  CHECK(file.tensors[1].first == "d");
  CHECK(file.tensors[2].first == "counts");
  CHECK(get<float>(file, "weights.f").shape() == Shape{2, 3});
  CHECK(get<float>(file, "weights.f").to_vector() == f.to_vector());
  CHECK(get<double>(file, "d").to_vector() == d.to_vector());
  CHECK(get<std::int64_t>(file, "counts").shape() == Shape{2, 1, 2});
  CHECK(get<std::int64_t>(file, "counts").to_vector() == i.to_vector());
  CHECK(file.metadata == nabla::io::Metadata{{"format", "pt"}, {"note", "héllo"}});

  const auto header = read_safetensors_header(path);
  REQUIRE(header.tensors.size() == 3);
  CHECK(header.tensors[0].dtype == Dtype::f32);
  CHECK(header.tensors[1].dtype == Dtype::f64);
  CHECK(header.tensors[2].dtype == Dtype::i64);
  CHECK(header.data_offset % 8 == 0);  // the header is padded to 8 bytes
  CHECK(header.data_size == 24 + 24 + 32);
}

TEST_CASE("safetensors writes the exact bytes of the format", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("exact.safetensors");
  write_safetensors(path, {{"a", Tensor<float>(Shape{2}, {1.0f, -2.0f})}, {"b", Tensor<std::int64_t>::scalar(5)}});
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  CHECK(read_bytes(path) == safetensors_bytes(header, raw<float>({1.0f, -2.0f}) + raw<std::int64_t>({5})));
}

TEST_CASE("safetensors writes views packed, and empty and 0-d tensors", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("views.safetensors");
  const Tensor<double> base(Shape{3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor<double> transposed = base.t();              // [4, 3]
  const Tensor<double> sliced = base.slice(1, 1, 4, 2);     // [3, 2]
  const Tensor<float> expanded = Tensor<float>(Shape{1, 2}, {3.0f, 4.0f}).expand(Shape{3, 2});
  write_safetensors(path, {{"t", transposed},
                           {"s", sliced},
                           {"e", expanded},
                           {"empty", Tensor<float>(Shape{0, 5})},
                           {"scalar", Tensor<double>::scalar(2.5)}});
  const auto file = read_safetensors(path);
  CHECK(get<double>(file, "t").to_vector() == transposed.to_vector());
  CHECK(get<double>(file, "s").to_vector() == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(get<float>(file, "e").to_vector() == std::vector<float>{3, 4, 3, 4, 3, 4});
  CHECK(get<float>(file, "empty").shape() == Shape{0, 5});
  CHECK(get<double>(file, "scalar").shape() == Shape{});
  CHECK(get<double>(file, "scalar").item() == 2.5);
}

TEST_CASE("safetensors reads the state_dict PyTorch wrote", "[io][safetensors][fixture]") {
  const auto c = nabla::testing::fixture("io").get("mlp");
  const auto file = read_safetensors(fixture_file("mlp_f32.safetensors"));
  CHECK(file.metadata.at("format") == "pt");
  REQUIRE(file.tensors.size() == 4);
  for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias"}) {
    INFO(name);
    nabla::testing::require_close(get<float>(file, name), c.tensor<double>(name), 0, 0);
  }
  const auto file64 = read_safetensors(fixture_file("mlp_f64.safetensors"));
  nabla::testing::require_close(get<double>(file64, "2.weight"), c.tensor<double>("2.weight"), 0, 0);

  const auto bn = read_safetensors(fixture_file("batchnorm.safetensors"));
  const auto& counter = get<std::int64_t>(bn, "num_batches_tracked");
  CHECK(counter.shape() == Shape{});
  CHECK(counter.item() == 3);
}

TEST_CASE("safetensors reads from a stream", "[io][safetensors]") {
  std::istringstream in(read_bytes(fixture_file("mlp_f64.safetensors")));
  const auto file = read_safetensors(in, "in-memory");
  CHECK(file.tensors.size() == 4);
  std::istringstream bad(std::string("abc"));
  CHECK_THROWS_WITH(read_safetensors(bad, "in-memory"), Catch::Contains("read_safetensors: in-memory: the file is 3 bytes"));
}

TEST_CASE("write_safetensors refuses bad names before touching the file", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("names.safetensors");
  write_bytes(path, "old");
  const Tensor<float> t(Shape{1}, {1.0f});
  CHECK_THROWS_AS(write_safetensors(path, {{"a", t}, {"a", t}}), ValueError);
  CHECK_THROWS_WITH(write_safetensors(path, {{"a", t}, {"a", t}}),
                    "write_safetensors: the tensor name 'a' appears twice");
  CHECK_THROWS_WITH(write_safetensors(path, {{"__metadata__", t}}),
                    "write_safetensors: '__metadata__' cannot name a tensor");
  CHECK_THROWS_WITH(write_safetensors(path, {{"u", Tensor<float>()}}),
                    "write_safetensors: the tensor 'u' is undefined");
  CHECK_THROWS_WITH(write_safetensors(path, {{std::string("bad\xff"), t}}), Catch::Contains("not valid UTF-8"));
  CHECK(read_bytes(path) == "old");
}

TEST_CASE("safetensors refuses malformed headers with a clear message", "[io][safetensors][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const std::string f32x2 = raw<float>({1.0f, 2.0f});
  struct Case {
    const char* what;
    std::string bytes;
    std::string message;
  };
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const Case cases[] = {
      {"too small", "abc", "the file is 3 bytes, too small for a safetensors header (8)"},
      {"empty", "", "the file is 0 bytes"},
      {"length past the end", safetensors_bytes("{}", "", 100), "header length 100 exceeds the 2 bytes that follow it (offset 0)"},
      {"length over the cap", safetensors_bytes("{}", "", std::uint64_t{1} << 40),
       "header length 1099511627776 exceeds the limit of 100000000 bytes (offset 0)"},
      {"invalid JSON", safetensors_bytes(R"({"a":)", ""), "the header is not valid JSON (offset "},
      {"binary junk", safetensors_bytes(std::string("\x00\x01\x02\x03", 4), ""), "the header is not valid JSON"},
      {"not an object", safetensors_bytes("[1, 2]", ""), "the header is not a JSON object (offset 8)"},
      {"entry not an object", safetensors_bytes(R"({"a":5})", ""), "entry 'a': expected an object with dtype, shape and data_offsets"},
      {"no dtype", safetensors_bytes(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': 'dtype' is missing or not a string"},
      {"dtype not a string", safetensors_bytes(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': 'dtype' is missing or not a string"},
      {"unknown dtype", safetensors_bytes(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': unknown dtype 'Q7'"},
      {"unsupported dtype", safetensors_bytes(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': dtype F16 is not supported (nabla reads F32, F64 and I64)"},
      {"no shape", safetensors_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", f32x2),
       "entry 'a': 'shape' is missing or not an array"},
      {"negative extent", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': 'shape' [-2] holds a value that is not a non-negative integer"},
      {"fractional extent", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", f32x2),
       "holds a value that is not a non-negative integer"},
      {"overflowing shape",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': shape [4611686018427387904,4] is too large (its byte count overflows)"},
      {"huge extent", safetensors_bytes(R"({"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,8]}})", f32x2),
       "is too large"},
      {"offsets missing", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", f32x2),
       "entry 'a': 'data_offsets' must be two non-negative integers"},
      {"three offsets", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", f32x2),
       "'data_offsets' must be two non-negative integers"},
      {"negative offset", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", f32x2),
       "'data_offsets' must be two non-negative integers"},
      {"reversed offsets", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f32x2),
       "entry 'a': data_offsets [8, 0] are reversed"},
      {"size mismatch", safetensors_bytes(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", f32x2),
       "entry 'a': shape [2] of F64 needs 16 bytes but data_offsets [0, 8] span 8"},
      {"past the end", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32x2),
       "entry 'a': data_offsets [0, 16] reach past the end of the data section (8 bytes at offset 63; the file is "
       "truncated or corrupt)"},
      {"lying header, 1 TB",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[274877906944],"data_offsets":[0,1099511627776]}})", f32x2),
       "reach past the end of the data section"},
      {"overlap",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         f32x2),
       "entries 'a' and 'b' overlap (data_offsets [0, 8] and [4, 8])"},
      {"gap", safetensors_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32x2),
       "4 bytes before entry 'b' belong to no tensor (offset "},
      {"tail", safetensors_bytes("{" + ok_entry + "}", f32x2 + "xyz"),
       "3 bytes at the end of the data section belong to no tensor (offset "},
      {"metadata not an object", safetensors_bytes(R"({"__metadata__":[1]})", ""),
       "__metadata__ must be an object of strings"},
      {"metadata value not a string", safetensors_bytes(R"({"__metadata__":{"epoch":3}})", ""),
       "__metadata__ value of 'epoch' is not a string"},
      {"duplicate name", safetensors_bytes("{" + ok_entry + "," + ok_entry + "}", f32x2),
       "the header names 'a' twice"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    write_bytes(path, c.bytes);
    CHECK_THROWS_AS(read_safetensors(path), IOError);
    CHECK_THROWS_WITH(read_safetensors(path), Catch::StartsWith("read_safetensors: " + path + ": ") &&
                                                  Catch::Contains(c.message));
  }
}

TEST_CASE("safetensors accepts an empty file and zero-size tensors at one offset", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("edge.safetensors");
  write_bytes(path, safetensors_bytes("{}", ""));
  CHECK(read_safetensors(path).tensors.empty());
  write_bytes(path, safetensors_bytes(R"({"z1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                      R"("z2":{"dtype":"I64","shape":[3,0],"data_offsets":[0,0]},)"
                                      R"("a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                                      raw<double>({4.5})));
  const auto file = read_safetensors(path);
  CHECK(file.tensors.size() == 3);
  CHECK(get<double>(file, "a").item() == 4.5);
  CHECK(get<std::int64_t>(file, "z2").shape() == Shape{3, 0});
}

TEST_CASE("safetensors reports missing files and folders", "[io][safetensors][errors]") {
  TempDir dir;
  CHECK_THROWS_WITH(read_safetensors(dir.file("nope.safetensors")),
                    "read_safetensors: cannot open " + dir.file("nope.safetensors") + ": No such file or directory");
  CHECK_THROWS_WITH(read_safetensors(dir.path().string()),
                    "read_safetensors: " + dir.path().string() + " is a directory, not a file");
}

TEST_CASE("every truncation of a valid file is refused, never a crash", "[io][safetensors][errors]") {
  TempDir dir;
  const std::string path = dir.file("cut.safetensors");
  const std::string good = read_bytes(fixture_file("mlp_f32.safetensors"));
  REQUIRE(good.size() > 100);
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("first " << n << " bytes");
    write_bytes(path, good.substr(0, n));
    CHECK_THROWS_AS(read_safetensors(path), IOError);
  }
  CHECK_THROWS_WITH(read_safetensors(fixture_file("broken_truncated.safetensors")),
                    Catch::Contains("reach past the end of the data section"));
  CHECK_THROWS_WITH(read_safetensors(fixture_file("broken_header_length.safetensors")),
                    Catch::Contains("header length 1099511627776 exceeds the limit"));
}

TEST_CASE("randomly corrupted files load or throw IOError, never crash", "[io][safetensors][errors]") {
  const std::string good = read_bytes(fixture_file("mlp_f64.safetensors"));
  nabla::Generator gen(99);
  int refused = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(gen.below(4));
    for (int k = 0; k < flips; ++k) {
      bytes[gen.below(bytes.size())] = static_cast<char>(gen.below(256));
    }
    if (gen.below(4) == 0) bytes.resize(gen.below(bytes.size() + 1));
    std::istringstream in(bytes);
    try {
      (void)read_safetensors(in, "fuzz");
    } catch (const IOError&) {
      ++refused;
    }
  }
  CHECK(refused > 100);
}

// Tests for printing: every expected string is what PyTorch 1.13 prints for
// the same values (torch.tensor(...) repr), checked by hand against it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/core/creation.hpp"
#include "nabla/core/print.hpp"
#include "support/fixture.hpp"

using nabla::Shape;
using nabla::Tensor;

namespace core_print_test {

template <class T>
std::string repr(const Tensor<T>& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

template <class T>
Tensor<T> make(Shape shape, std::vector<T> values) {
  return Tensor<T>(std::move(shape), std::move(values));
}

// The lines of a string, split at '\n'.
inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace core_print_test

using core_print_test::make;
using core_print_test::repr;

TEST_CASE("Print: integer-valued floats print with a trailing point", "[core][print]") {
  CHECK(repr(make<float>(Shape{2, 2}, {1, 2, 3, 4})) == "tensor([[1., 2.],\n        [3., 4.]])");
  CHECK(repr(make<float>(Shape{3}, {-1, 0, 10})) == "tensor([-1.,  0., 10.])");
  CHECK(repr(make<float>(Shape{2}, {0, 0})) == "tensor([0., 0.])");
  CHECK(repr(make<float>(Shape{2}, {-0.0f, 1})) == "tensor([-0., 1.])");
  CHECK(repr(make<float>(Shape{1}, {1e8f})) == "tensor([100000000.])");
  // Double prints the same digits and names its dtype, as PyTorch does.
  CHECK(repr(make<double>(Shape{2, 2}, {1, 2, 3, 4})) == "tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)");
}

TEST_CASE("Print: fixed notation with 4 decimals, right-aligned with negatives", "[core][print]") {
  CHECK(repr(make<float>(Shape{3}, {1.5f, 2.25f, -3.125f})) == "tensor([ 1.5000,  2.2500, -3.1250])");
  CHECK(repr(make<float>(Shape{2, 2}, {-1.5f, 2.0f, 3.25f, -10.125f})) ==
        "tensor([[ -1.5000,   2.0000],\n        [  3.2500, -10.1250]])");
  CHECK(repr(make<float>(Shape{2}, {123.456f, -0.5f})) == "tensor([123.4560,  -0.5000])");
  CHECK(repr(make<double>(Shape{2}, {0.1, 0.2})) == "tensor([0.1000, 0.2000], dtype=torch.float64)");
}

TEST_CASE("Print: scientific notation for wide ranges, large and tiny values", "[core][print]") {
  CHECK(repr(make<float>(Shape{2}, {1e10f, 1.0f})) == "tensor([1.0000e+10, 1.0000e+00])");
  CHECK(repr(make<float>(Shape{2}, {1.0f, 2000.0f})) == "tensor([1.0000e+00, 2.0000e+03])");
  CHECK(repr(make<float>(Shape{2}, {1e8f, 1.0f})) == "tensor([1.0000e+08, 1.0000e+00])");
  CHECK(repr(make<float>(Shape{1}, {1e-5f})) == "tensor([1.0000e-05])");
  CHECK(repr(make<float>(Shape{2}, {1e-5f, 1.0f})) == "tensor([1.0000e-05, 1.0000e+00])");
  CHECK(repr(make<float>(Shape{2}, {0.001f, 10.5f})) == "tensor([1.0000e-03, 1.0500e+01])");
  CHECK(repr(make<float>(Shape{3}, {-1e-5f, 3.0f, 0.0f})) == "tensor([-1.0000e-05,  3.0000e+00,  0.0000e+00])");
}

TEST_CASE("Print: integer tensors", "[core][print]") {
  CHECK(repr(make<std::int64_t>(Shape{3}, {1, -20, 300})) == "tensor([  1, -20, 300])");
  CHECK(repr(make<std::int64_t>(Shape{2, 2}, {0, 1, 2, 3})) == "tensor([[0, 1],\n        [2, 3]])");
  CHECK(repr(make<int>(Shape{2}, {7, -8})) == "tensor([ 7, -8], dtype=torch.int32)");
  CHECK(repr(Tensor<std::int64_t>::scalar(3)) == "tensor(3)");
}

TEST_CASE("Print: 0-d tensors", "[core][print]") {
  CHECK(repr(Tensor<float>::scalar(1.5f)) == "tensor(1.5000)");
  CHECK(repr(Tensor<double>::scalar(-2.0)) == "tensor(-2., dtype=torch.float64)");
  CHECK(repr(Tensor<float>::scalar(1e10f)) == "tensor(1.0000e+10)");
  CHECK(repr(Tensor<float>::scalar(std::numeric_limits<float>::quiet_NaN())) == "tensor(nan)");
}

TEST_CASE("Print: 3-D and 4-D tensors separate blocks with blank lines", "[core][print]") {
  CHECK(repr(nabla::arange<float>(8).reshape(Shape{2, 2, 2})) ==
        "tensor([[[0., 1.],\n"
        "         [2., 3.]],\n"
        "\n"
        "        [[4., 5.],\n"
        "         [6., 7.]]])");

  auto sevenths = nabla::arange<float>(24).reshape(Shape{2, 3, 4});
  for (std::int64_t i = 0; i < 24; ++i) sevenths.data()[i] /= 7.0f;
  CHECK(repr(sevenths) ==
        "tensor([[[0.0000, 0.1429, 0.2857, 0.4286],\n"
        "         [0.5714, 0.7143, 0.8571, 1.0000],\n"
        "         [1.1429, 1.2857, 1.4286, 1.5714]],\n"
        "\n"
        "        [[1.7143, 1.8571, 2.0000, 2.1429],\n"
        "         [2.2857, 2.4286, 2.5714, 2.7143],\n"
        "         [2.8571, 3.0000, 3.1429, 3.2857]]])");

  const auto four = repr(nabla::arange<float>(16).reshape(Shape{2, 2, 2, 2}));
  CHECK(four ==
        "tensor([[[[ 0.,  1.],\n"
        "          [ 2.,  3.]],\n"
        "\n"
        "         [[ 4.,  5.],\n"
        "          [ 6.,  7.]]],\n"
        "\n"
        "\n"
        "        [[[ 8.,  9.],\n"
        "          [10., 11.]],\n"
        "\n"
        "         [[12., 13.],\n"
        "          [14., 15.]]]])");
}

TEST_CASE("Print: views print their own elements", "[core][print]") {
  const auto m = make<float>(Shape{2, 2}, {1, 2, 3, 4});
  CHECK(repr(m.t()) == "tensor([[1., 3.],\n        [2., 4.]])");
  CHECK(repr(m.select(1, 1)) == "tensor([2., 4.])");
  CHECK(repr(make<float>(Shape{1, 3}, {1.5f, 2, 3}).expand(Shape{2, 3})) ==
        "tensor([[1.5000, 2.0000, 3.0000],\n        [1.5000, 2.0000, 3.0000]])");
}

TEST_CASE("Print: long rows wrap at 80 columns", "[core][print]") {
  CHECK(repr(nabla::arange<float>(20)) ==
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19.])");
  auto scaled = nabla::arange<std::int64_t>(60).reshape(Shape{3, 20});
  for (std::int64_t i = 0; i < 60; ++i) scaled.data()[i] *= 1000;
  const auto out = core_print_test::lines(repr(scaled));
  REQUIRE(out.size() == 6);
  CHECK(out[0] == "tensor([[    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,  9000,");
  CHECK(out[1] == "         10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 19000],");
  CHECK(out[5] == "         50000, 51000, 52000, 53000, 54000, 55000, 56000, 57000, 58000, 59000]])");
}

TEST_CASE("Print: large tensors are summarised with ...", "[core][print]") {
  CHECK(repr(nabla::arange<std::int64_t>(2000).reshape(Shape{40, 50})) ==
        "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
        "        [  50,   51,   52,  ...,   97,   98,   99],\n"
        "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
        "        ...,\n"
        "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
        "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
        "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])");
  CHECK(repr(nabla::arange<float>(2000).reshape(Shape{2, 1000})) ==
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9700e+02, 9.9800e+02,\n"
        "         9.9900e+02],\n"
        "        [1.0000e+03, 1.0010e+03, 1.0020e+03,  ..., 1.9970e+03, 1.9980e+03,\n"
        "         1.9990e+03]])");
  CHECK(repr(nabla::arange<float>(1001)) == "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])");
  CHECK(repr(nabla::arange<float>(1000)).find("...") == std::string::npos);  // at the threshold: in full

  const auto out = core_print_test::lines(repr(nabla::arange<float>(3000).reshape(Shape{10, 10, 30})));
  REQUIRE(out.size() == 85);
  CHECK(out[0] == "tensor([[[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 2.7000e+01,");
  CHECK(out[1] == "          2.8000e+01, 2.9000e+01],");
  CHECK(out[83] == "         [2.9700e+03, 2.9710e+03, 2.9720e+03,  ..., 2.9970e+03,");
  CHECK(out[84] == "          2.9980e+03, 2.9990e+03]]])");
  CHECK(repr(nabla::arange<float>(3000).reshape(Shape{10, 10, 30})).find("]],\n\n        ...,\n\n        [[") !=
        std::string::npos);
}

TEST_CASE("Print: nan and inf are padded to the column width", "[core][print]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(repr(make<float>(Shape{4}, {1, nan, inf, -inf})) == "tensor([1., nan, inf, -inf])");
  CHECK(repr(make<float>(Shape{2}, {1.5f, nan})) == "tensor([1.5000,    nan])");
  CHECK(repr(make<float>(Shape{2}, {nan, inf})) == "tensor([nan, inf])");
  CHECK(repr(make<float>(Shape{2, 2}, {nan, 1.25f, -inf, 100.5f})) ==
        "tensor([[     nan,   1.2500],\n        [    -inf, 100.5000]])");
}

TEST_CASE("Print: undefined and empty tensors", "[core][print]") {
  CHECK(repr(Tensor<float>()) == "tensor(undefined)");
  CHECK(nabla::to_string(Tensor<double>()) == "tensor(undefined)");
  CHECK(repr(nabla::zeros(Shape{0})) == "tensor([])");
  CHECK(repr(nabla::zeros(Shape{2, 0})) == "tensor([], size=(2, 0))");
  CHECK(repr(nabla::zeros<std::int64_t>(Shape{0, 3, 1})) == "tensor([], size=(0, 3, 1), dtype=torch.int64)");
}

TEST_CASE("Print: to_string takes precision, threshold, edge items and line width", "[core][print]") {
  const auto v = make<float>(Shape{3}, {1.5f, 2.25f, -3.125f});
  CHECK(nabla::to_string(v) == "tensor([ 1.5000,  2.2500, -3.1250])");
  nabla::PrintOptions two;
  two.precision = 2;
  CHECK(nabla::to_string(v, two) == "tensor([ 1.50,  2.25, -3.12])");

  nabla::PrintOptions small;
  small.threshold = 5;
  small.edge_items = 1;
  CHECK(nabla::to_string(nabla::arange<float>(10), small) == "tensor([0.,  ..., 9.])");
  CHECK(nabla::to_string(nabla::arange<std::int64_t>(12).reshape(Shape{3, 4}), small) ==
        "tensor([[ 0,  ...,  3],\n        ...,\n        [ 8,  ..., 11]])");

  nabla::PrintOptions narrow;
  narrow.linewidth = 40;
  CHECK(nabla::to_string(nabla::arange<float>(20), narrow) ==
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,\n"
        "         6.,  7.,  8.,  9., 10., 11.,\n"
        "        12., 13., 14., 15., 16., 17.,\n"
        "        18., 19.])");
}

namespace core_print_test {

// Builds the fixture's tensor as Tensor<T> and compares nabla's repr with
// PyTorch's.
template <class T>
void check_repr_case(const std::string& name, const nlohmann::json& c) {
  std::vector<std::int64_t> extents = c.at("shape").get<std::vector<std::int64_t>>();
  std::vector<T> values;
  for (const auto& v : c.at("data")) {
    if (v.is_string()) {
      const std::string text = v.get<std::string>();
      values.push_back(text == "nan" ? std::numeric_limits<T>::quiet_NaN()
                                     : (text == "inf" ? std::numeric_limits<T>::infinity()
                                                      : -std::numeric_limits<T>::infinity()));
    } else {
      values.push_back(v.get<T>());
    }
  }
  const Shape shape(extents);
  const Tensor<T> t = shape.empty() ? Tensor<T>::scalar(values.at(0)) : Tensor<T>(shape, values);
  INFO("case " << name);
  CHECK(repr(t) == c.at("repr").get<std::string>());
}

}  // namespace core_print_test

TEST_CASE("Print: every dtype prints as PyTorch's repr, dtype suffix included (fixtures)", "[core][print]") {
  const auto& f = nabla::testing::fixture("print");
  const auto names = f.names();
  REQUIRE(names.size() >= 60);
  std::size_t checked = 0;
  for (const auto& name : names) {
    const auto fixture_case = f.get(name);
    const nlohmann::json& c = fixture_case.json();
    const std::string dtype = c.at("dtype").get<std::string>();
    if (dtype == "float32") core_print_test::check_repr_case<float>(name, c);
    else if (dtype == "float64") core_print_test::check_repr_case<double>(name, c);
    else if (dtype == "int64") core_print_test::check_repr_case<std::int64_t>(name, c);
    else if (dtype == "int32") core_print_test::check_repr_case<std::int32_t>(name, c);
    else if (dtype == "int16") core_print_test::check_repr_case<std::int16_t>(name, c);
    else if (dtype == "int8") core_print_test::check_repr_case<std::int8_t>(name, c);
    else if (dtype == "uint8") core_print_test::check_repr_case<std::uint8_t>(name, c);
    else FAIL("unknown dtype " << dtype);
    ++checked;
  }
  CHECK(checked == names.size());
}

// Mixed-type arithmetic against PyTorch's type promotion (torch.result_type;
// fixtures from scripts/fixtures/promotion.py): for every pair of dtypes and
// + - * /, the result's element type and values; integer tensors with
// floating scalars; true and floor division.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/ops/elementwise.hpp"

using nabla::Shape;
using nabla::Tensor;

namespace ops_promotion_test {

template <class T>
struct Type {
  using type = T;
};

template <class T>
std::string dtype_of() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, double>) return "float64";
  if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
  if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  if constexpr (std::is_same_v<T, std::int16_t>) return "int16";
  if constexpr (std::is_same_v<T, std::int8_t>) return "int8";
  if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
  return "other";
}

// Calls f(Type<T>{}) for the element type named `name`.
template <class F>
void with_dtype(const std::string& name, F&& f) {
  if (name == "float32") return f(Type<float>{});
  if (name == "float64") return f(Type<double>{});
  if (name == "int64") return f(Type<std::int64_t>{});
  if (name == "int32") return f(Type<std::int32_t>{});
  if (name == "int16") return f(Type<std::int16_t>{});
  if (name == "int8") return f(Type<std::int8_t>{});
  if (name == "uint8") return f(Type<std::uint8_t>{});
  FAIL("unknown dtype " << name);
}

template <class T>
Tensor<T> values(const std::vector<int>& v) {
  std::vector<T> out;
  for (int e : v) out.push_back(static_cast<T>(e));
  return Tensor<T>(Shape{static_cast<std::int64_t>(out.size())}, out);
}

template <class R>
void check_result(const std::string& name, const Tensor<R>& y, const nabla::testing::FixtureCase& c) {
  INFO("case " << name);
  CHECK(dtype_of<R>() == c.json().at("dtype").get<std::string>());
  const auto expected = c.json().at("y").get<std::vector<double>>();
  const auto got = y.to_vector();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(static_cast<double>(got[i]) == expected[i]);
}

}  // namespace ops_promotion_test

using namespace ops_promotion_test;

TEST_CASE("type promotion: every dtype pair and + - * / as torch.result_type (fixtures)", "[elementwise][dtype]") {
  const auto& f = nabla::testing::fixture("promotion");
  const auto a_values = std::vector<int>{7, 2, 100, 9};
  const auto b_values = std::vector<int>{2, 5, 3, 4};
  std::size_t checked = 0;
  for (const auto& name : f.names()) {
    const auto c = f.get(name);
    const std::string op = c.json().at("op").get<std::string>();
    const std::string an = c.json().at("a").get<std::string>();
    const std::string bn = c.json().at("b").get<std::string>();
    if (bn == "float_scalar") {
      with_dtype(an, [&](auto ta) {
        const auto a = values<typename decltype(ta)::type>(a_values);
        if (op == "add") check_result(name, a + 0.5, c);
        if (op == "sub") check_result(name, a - 0.5, c);
        if (op == "mul") check_result(name, a * 0.5, c);
        if (op == "div") check_result(name, a / 0.5, c);
      });
    } else if (an == "int_scalar") {
      with_dtype(bn, [&](auto tb) {
        using B = typename decltype(tb)::type;
        const auto b = values<B>(a_values);
        if (op == "add") check_result(name, B(3) + b, c);
        if (op == "sub") check_result(name, B(3) - b, c);
        if (op == "mul") check_result(name, B(3) * b, c);
        if (op == "div") check_result(name, B(3) / b, c);
      });
    } else {
      with_dtype(an, [&](auto ta) {
        with_dtype(bn, [&](auto tb) {
          const auto a = values<typename decltype(ta)::type>(a_values);
          const auto b = values<typename decltype(tb)::type>(b_values);
          if (op == "add") check_result(name, a + b, c);
          if (op == "sub") check_result(name, a - b, c);
          if (op == "mul") check_result(name, a * b, c);
          if (op == "div") check_result(name, a / b, c);
        });
      });
    }
    ++checked;
  }
  CHECK(checked == 252);
}

TEST_CASE("type promotion: the cases users hit, and the named functions", "[elementwise][dtype]") {
  // Before: Tensor<int64_t> * 0.5 gave [0, 0, 0].
  const Tensor<std::int64_t> x(Shape{3}, {2, 4, 6});
  const auto half = x * 0.5;
  static_assert(std::is_same_v<decltype(half), const Tensor<float>>);
  CHECK(half.to_vector() == std::vector<float>{1, 2, 3});
  static_assert(std::is_same_v<decltype(nabla::mul(x, 0.5)), Tensor<float>>);
  static_assert(std::is_same_v<decltype(nabla::add(Tensor<float>(), Tensor<double>())), Tensor<double>>);
  static_assert(std::is_same_v<decltype(Tensor<float>() * 2.0), Tensor<float>>);  // float stays float
  static_assert(std::is_same_v<decltype(Tensor<std::uint8_t>() + 300), Tensor<std::uint8_t>>);
  static_assert(std::is_same_v<decltype(Tensor<std::int32_t>() / 2), Tensor<float>>);
  CHECK(nabla::div(x, x).to_vector() == std::vector<float>{1, 1, 1});
  CHECK(nabla::div(Tensor<std::int64_t>(Shape{2}, {1, 3}), std::int64_t{2}).to_vector() ==
        std::vector<float>{0.5f, 1.5f});
}

TEST_CASE("floor_divide rounds toward -inf as torch.floor_divide; integer division by zero throws",
          "[elementwise][dtype]") {
  const Tensor<std::int64_t> a(Shape{4}, {7, -7, 7, -7});
  const Tensor<std::int64_t> b(Shape{4}, {2, 2, -2, -2});
  CHECK(nabla::floor_divide(a, b).to_vector() == std::vector<std::int64_t>{3, -4, -4, 3});
  CHECK(nabla::floor_divide(a, std::int64_t{3}).to_vector() == std::vector<std::int64_t>{2, -3, 2, -3});
  CHECK(nabla::floor_divide(Tensor<double>(Shape{2}, {7, -7}), Tensor<double>(Shape{2}, {2, 2})).to_vector() ==
        std::vector<double>{3, -4});
  CHECK(nabla::floor_divide(Tensor<std::uint8_t>(Shape{2}, {7, 200}), std::uint8_t{3}).to_vector() ==
        std::vector<std::uint8_t>{2, 66});
  CHECK_THROWS_WITH(nabla::floor_divide(a, Tensor<std::int64_t>(Shape{4}, {1, 0, 1, 1})),
                    Catch::StartsWith("floor_divide: integer division by zero"));
}

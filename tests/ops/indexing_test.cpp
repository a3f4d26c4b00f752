// Python-style indexing (ops/indexing.hpp) and t[i] against PyTorch
// (tests/fixtures/mask.json): basic items give views, masks and index
// tensors give copies placed as PyTorch places them; index_put_ writes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/fixture.hpp"
#include "nabla/core/creation.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/indexing.hpp"

using nabla::Shape;
using nabla::Tensor;
using nabla::indexing::Ellipsis;
using nabla::indexing::None;
using nabla::indexing::Slice;
using nabla::testing::require_close;
using I64 = std::int64_t;

namespace {

Tensor<I64> indexing_ints(std::vector<I64> v) {
  const auto n = static_cast<I64>(v.size());
  return Tensor<I64>(Shape{n}, std::move(v));
}

// The twin of each expression in scripts/fixtures/mask.py's index_cases.
const std::map<std::string, std::function<Tensor<double>(const Tensor<double>&)>>& indexing_cases() {
  static const std::map<std::string, std::function<Tensor<double>(const Tensor<double>&)>> table = {
      {"int", [](const auto& t) { return t.index({1}); }},
      {"neg_int", [](const auto& t) { return t.index({-1, -2}); }},
      {"slice_step", [](const auto& t) { return t.index({Slice(), Slice(1, None), Slice(None, None, 2)}); }},
      {"neg_slice", [](const auto& t) { return t.index({Ellipsis, Slice(-3, -1)}); }},
      {"none", [](const auto& t) { return t.index({None, 0, None, Slice(), 1}); }},
      {"ellipsis_mid", [](const auto& t) { return t.index({0, Ellipsis, 2}); }},
      {"idx_first", [](const auto& t) { return t.index({indexing_ints({1, 0, 1})}); }},
      {"idx_axis2", [](const auto& t) { return t.index({Slice(), Slice(), indexing_ints({3, 0})}); }},
      {"idx_2d", [](const auto& t) { return t.index({Slice(), Tensor<I64>({{0, 2}, {1, 1}})}); }},
      {"idx_adjacent", [](const auto& t) { return t.index({Slice(), indexing_ints({0, 2}), indexing_ints({1, 3})}); }},
      {"idx_separated", [](const auto& t) { return t.index({indexing_ints({0, 1}), Slice(), indexing_ints({1, 3})}); }},
      {"idx_broadcast",
       [](const auto& t) { return t.index({Tensor<I64>({{0}, {1}}), Slice(), indexing_ints({1, 2, 3})}); }},
      {"idx_neg", [](const auto& t) { return t.index({Slice(), indexing_ints({-1, 0})}); }},
      {"idx_with_int", [](const auto& t) { return t.index({1, Slice(), indexing_ints({0, 3})}); }},
      {"idx_int_after", [](const auto& t) { return t.index({1, indexing_ints({0, 2}), Slice(), 1}); }},
      {"mask_full", [](const auto& t) { return t.index({t > 50.0}); }},
      {"mask_leading", [](const auto& t) { return t.index({Tensor<bool>({{true, false, true}, {false, false, true}})}); }},
      {"mask_mid",
       [](const auto& t) {
         return t.index({Slice(), Tensor<bool>({{true, false, false, true}, {true, false, false, true},
                                                {false, false, false, false}})});
       }},
      {"mask_and_idx", [](const auto& t) { return t.index({nabla::tensor<bool>({true, false}), Slice(), indexing_ints({2, 1})}); }},
      {"slice_then_idx", [](const auto& t) { return t.index({Slice(), Slice(1, 3), Ellipsis, indexing_ints({0, 4})}); }},
      {"transposed", [](const auto& t) { return t.transpose(1, 3).index({Slice(), indexing_ints({0, 2}), 1}); }},
      {"empty_idx", [](const auto& t) { return t.index({Slice(), Tensor<I64>(Shape{0})}); }},
      {"empty_mask", [](const auto& t) { return t.index({t > 1000.0}); }},
  };
  return table;
}

}  // namespace

TEST_CASE("index reads what PyTorch's t[...] reads", "[indexing]") {
  int checked = 0;
  for (const auto& name : nabla::testing::fixture("mask").names()) {
    if (name.rfind("index_", 0) != 0 || name == "index_put") continue;
    INFO("case " << name);
    const auto c = nabla::testing::fixture("mask").get(name);
    const auto it = indexing_cases().find(name.substr(6));
    REQUIRE(it != indexing_cases().end());
    require_close(it->second(c.tensor<double>("x")), c.tensor<double>("out"), 0, 0);
    // The same on integers.
    require_close(nabla::index(c.tensor<I64>("x"), {}), c.tensor<I64>("x"), 0, 0);
    ++checked;
  }
  CHECK(checked == static_cast<int>(indexing_cases().size()));
}

TEST_CASE("basic indexing gives views; t[i] and negative indices", "[indexing]") {
  const Tensor<float> x = nabla::arange<float>(24.0f).reshape({2, 3, 4});
  const Tensor<float> row = x[1][-1];  // x[1, -1]
  CHECK(row.to_vector() == std::vector<float>{20, 21, 22, 23});
  row.fill_(0.0f);
  CHECK(x.at({1, 2, 0}) == 0.0f);  // a view: the write reached x
  const Tensor<float> strided = x.index({Slice(), Slice(None, None, 2), Slice(1, None, 2)});
  CHECK(strided.shape() == Shape({2, 2, 2}));
  CHECK(strided.storage().same_as(x.storage()));
  CHECK(x.index({true}).shape() == Shape({1, 2, 3, 4}));
  CHECK(x.index({false}).shape() == Shape({0, 2, 3, 4}));
  CHECK(x.index({Ellipsis}).is_same(x));
  // Advanced indexing copies.
  const Tensor<float> picked = x.index({Slice(), indexing_ints({0})});
  CHECK_FALSE(picked.storage().same_as(x.storage()));
  CHECK_THROWS_WITH(x[2], Catch::StartsWith("select: index 2 is out of range for axis 0 of shape [2, 3, 4]"));
  CHECK_THROWS_WITH(x.index({0, 3}), Catch::StartsWith("index: index 3 is out of range for an axis of extent 3"));
  CHECK_THROWS_WITH(x.index({0, 0, 0, 0}),
                    Catch::StartsWith("index: too many indices for a tensor of shape [2, 3, 4]: 4 axes indexed, 3 present"));
  CHECK_THROWS_WITH(x.index({Ellipsis, 0, Ellipsis}), Catch::StartsWith("index: an index can have only one Ellipsis"));
  CHECK_THROWS_WITH(x.index({Slice(None, None, -1)}), Catch::StartsWith("index: slice step must be positive, got -1"));
  CHECK_THROWS_WITH(x.index({indexing_ints({0, 2})}),
                    Catch::StartsWith("index: index 2 is out of range for axis 0 of extent 2"));
  CHECK_THROWS_WITH(x.index({Tensor<bool>(Shape{2, 4})}),
                    Catch::StartsWith("index: the mask of shape [2, 4] does not match the indexed axes of shape [2, 3, 4]"));
  CHECK_THROWS_WITH(x.index({indexing_ints({0, 1}), indexing_ints({0, 1, 2})}),
                    Catch::StartsWith("index: shapes [2] and [3] cannot be broadcast"));
}

TEST_CASE("index_put_ writes and accumulates as torch.index_put_", "[indexing]") {
  const auto c = nabla::testing::fixture("mask").get("index_put");
  const Tensor<double> x = c.tensor<double>("x").clone();
  const std::uint64_t before = x.version();
  x.index_put_({Slice(), indexing_ints({0, 2}), indexing_ints({1, 3})}, Tensor<double>({{-1.0}, {-2.0}}));
  x.index_put_({0, Slice(1, None), Slice(None, None, 2)}, 9.0);
  nabla::index_put_(x, {x > 110.0}, 0);
  require_close(x, c.tensor<double>("put"), 0, 0);
  CHECK(x.version() > before);
  const Tensor<double> acc(Shape{4, 3});
  nabla::index_put_(acc, {indexing_ints({1, 1, 3})}, Tensor<double>(Shape{3}, {1.0, 2.0, 3.0}), true);
  require_close(acc, c.tensor<double>("acc"), 0, 0);
  // Basic items with accumulate add into the view.
  const Tensor<I64> counts(Shape{2, 2});
  nabla::index_put_(counts, {Slice(), 1}, I64{5}, true);
  nabla::index_put_(counts, {Slice(), 1}, indexing_ints({1, 2}), true);
  CHECK(counts.to_vector() == std::vector<I64>{0, 6, 0, 7});
  CHECK_THROWS_WITH(nabla::index_put_(acc, {indexing_ints({0, 1})}, Tensor<double>(Shape{2})),
                    Catch::StartsWith("index_put_: a value of shape [2] cannot be broadcast to the indexed shape [2, 3]"));
}

// Generator::state / set_state: a restored generator continues the sequence
// bit for bit, including a pending Box-Muller spare normal.
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "nabla/core/creation.hpp"
#include "nabla/core/random.hpp"

using nabla::Generator;
using nabla::GeneratorState;

namespace {

// A mix of every kind of draw, so any state left out shows up.
std::vector<double> generator_state_draws(Generator& gen, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(gen.normal());
    out.push_back(gen.uniform());
    out.push_back(static_cast<double>(gen.next_u64() >> 12));
    out.push_back(static_cast<double>(gen.below(1000)));
    out.push_back(gen.normal(2.0, 3.0));
    out.push_back(gen.normal());  // an odd number of normals per round: the spare alternates
  }
  return out;
}

}  // namespace

TEST_CASE("Generator::set_state continues the sequence bit for bit", "[core][random][generator_state]") {
  Generator gen(42);
  generator_state_draws(gen, 3);  // 9 normals: a spare normal is pending
  const GeneratorState saved = gen.state();
  CHECK(saved.has_spare_normal);
  CHECK(saved.seed == 42);
  const std::vector<double> expected = generator_state_draws(gen, 20);

  Generator restored(7);
  CHECK_FALSE(restored.state() == saved);
  restored.set_state(saved);
  CHECK(restored.state() == saved);
  CHECK(restored.initial_seed() == 42);
  CHECK(generator_state_draws(restored, 20) == expected);
  CHECK(restored.state() == gen.state());

  // The pending spare matters: dropping it shifts every later normal.
  GeneratorState without_spare = saved;
  without_spare.has_spare_normal = false;
  CHECK_FALSE(without_spare == saved);
  Generator shifted;
  shifted.set_state(without_spare);
  CHECK(generator_state_draws(shifted, 20) != expected);
}

TEST_CASE("Generator state: equality, seeding and factories", "[core][random][generator_state]") {
  Generator a(5), b(5);
  CHECK(a.state() == b.state());
  CHECK_FALSE(a.state().has_spare_normal);
  (void)a.next_u64();
  CHECK_FALSE(a.state() == b.state());
  a.manual_seed(5);
  CHECK(a.state() == b.state());
  // A state taken with no spare pending has spare_normal 0, so equal positions compare equal.
  (void)a.normal();
  (void)a.normal();
  (void)b.normal();
  (void)b.normal();
  CHECK(a.state() == b.state());
  CHECK(a.state().spare_normal == 0.0);

  // Factories drawing from a restored generator repeat exactly.
  Generator g(9);
  (void)nabla::randn<float>(nabla::Shape{3}, g);  // 3 normals: a spare is pending
  const GeneratorState s = g.state();
  const auto first = nabla::randn<double>(nabla::Shape{5, 3}, g).to_vector();
  const auto second = nabla::rand<float>(nabla::Shape{4}, g).to_vector();
  g.set_state(s);
  CHECK(nabla::randn<double>(nabla::Shape{5, 3}, g).to_vector() == first);
  CHECK(nabla::rand<float>(nabla::Shape{4}, g).to_vector() == second);
}

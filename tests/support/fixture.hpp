// Test support: reads the PyTorch reference fixtures written by
// scripts/fixtures/*.py (tests/fixtures/<family>.json).
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "nabla/core/tensor.hpp"

#ifndef NABLA_TEST_FIXTURE_DIR
#error "NABLA_TEST_FIXTURE_DIR must name tests/fixtures"
#endif

namespace nabla::testing {

// One named case of a fixture file: tensors and parameters by key.
class FixtureCase {
 public:
  FixtureCase(std::string name, nlohmann::json json) : name_(std::move(name)), json_(std::move(json)) {}

  const std::string& name() const { return name_; }
  bool has(const std::string& key) const { return json_.contains(key); }

  template <class T>
  Tensor<T> tensor(const std::string& key) const {
    const nlohmann::json& e = at(key);
    std::vector<std::int64_t> shape = e.at("shape").get<std::vector<std::int64_t>>();
    std::vector<T> values;
    values.reserve(e.at("data").size());
    for (const auto& v : e.at("data")) values.push_back(static_cast<T>(number(v)));
    return Tensor<T>(Shape(shape), std::move(values));
  }
  std::int64_t integer(const std::string& key) const { return at(key).get<std::int64_t>(); }
  double real(const std::string& key) const { return number(at(key)); }
  std::vector<std::int64_t> integers(const std::string& key) const {
    return at(key).get<std::vector<std::int64_t>>();
  }
  std::string text(const std::string& key) const { return at(key).get<std::string>(); }
  const nlohmann::json& json() const { return json_; }

 private:
  static double number(const nlohmann::json& v) {
    if (v.is_number()) return v.get<double>();
    // Python's json writes NaN / Infinity as bare words, which nlohmann reads
    // only when they arrive as strings; the generators avoid them otherwise.
    const std::string s = v.get<std::string>();
    if (s == "NaN") return NAN;
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
    throw std::runtime_error("fixture: not a number: " + s);
  }
  const nlohmann::json& at(const std::string& key) const {
    if (!json_.contains(key)) throw std::runtime_error("fixture case " + name_ + " has no entry " + key);
    return json_.at(key);
  }

  std::string name_;
  nlohmann::json json_;
};

// A whole fixture family, loaded once.
class Fixture {
 public:
  explicit Fixture(const std::string& family) {
    const std::string path = std::string(NABLA_TEST_FIXTURE_DIR) + "/" + family + ".json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open fixture " + path + " (run scripts/gen-fixtures.sh)");
    std::stringstream text;
    text << in.rdbuf();
    json_ = nlohmann::json::parse(text.str());
  }
  FixtureCase get(const std::string& name) const {
    const auto& cases = json_.at("cases");
    if (!cases.contains(name)) throw std::runtime_error("fixture has no case " + name);
    return FixtureCase(name, cases.at(name));
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : json_.at("cases").items()) out.push_back(k);
    return out;
  }

 private:
  nlohmann::json json_;
};

// Loads a family once per test binary.
inline const Fixture& fixture(const std::string& family) {
  static std::vector<std::pair<std::string, Fixture>> loaded;
  for (const auto& [name, f] : loaded) {
    if (name == family) return f;
  }
  loaded.emplace_back(family, Fixture(family));
  return loaded.back().second;
}

// Asserts same shape and every element within atol + rtol * |expected|,
// reporting the first element that differs.
template <class T, class U>
void require_close(const Tensor<T>& actual, const Tensor<U>& expected, double rtol = 1e-5, double atol = 1e-6) {
  INFO("actual shape " << to_string(actual.shape()) << ", expected shape " << to_string(expected.shape()));
  REQUIRE(actual.shape() == expected.shape());
  const std::vector<T> a = actual.to_vector();
  const std::vector<U> e = expected.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double av = static_cast<double>(a[i]);
    const double ev = static_cast<double>(e[i]);
    if (std::isnan(ev)) {
      INFO("element " << i << ": expected nan, got " << av);
      REQUIRE(std::isnan(av));
      continue;
    }
    if (std::isinf(ev)) {
      INFO("element " << i << ": expected " << ev << ", got " << av);
      REQUIRE(av == ev);
      continue;
    }
    const double tol = atol + rtol * std::abs(ev);
    if (!(std::abs(av - ev) <= tol)) {
      INFO("element " << i << " of " << a.size() << ": actual " << av << ", expected " << ev << ", tolerance " << tol);
      REQUIRE(std::abs(av - ev) <= tol);
    }
  }
}

}  // namespace nabla::testing

// gradcheck: compares every gradient rule reached by a function with central
// finite differences in double, and reports the first disagreement.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/rules/elementwise.hpp"
#include "nabla/autograd/rules/reduce.hpp"
#include "nabla/autograd/var.hpp"
#include "nabla/core/random.hpp"

namespace nabla {

struct GradcheckOptions {
  double eps = 1e-6;   // PyTorch's defaults
  double atol = 1e-5;
  double rtol = 1e-3;
  // Skip elements where the function has a kink (the left and right
  // one-sided differences disagree), e.g. relu at 0.
  bool skip_kinks = true;
  // Skip chosen elements: skip(input index, flat element index).
  std::function<bool(std::size_t, std::int64_t)> skip;
  // Outputs with more elements than this are checked through random
  // projections of the Jacobian instead of row by row.
  std::int64_t max_full_outputs = 64;
};

// The outcome: ok, or the input and element whose gradient disagreed.
struct GradcheckReport {
  bool ok = true;
  std::size_t input = 0;
  std::int64_t index = 0;     // flat (row-major) element of that input
  std::int64_t output = 0;    // output element (or projection) being differentiated
  double analytical = 0.0;
  double numerical = 0.0;
  std::int64_t checked = 0;   // derivatives compared
  std::int64_t skipped = 0;   // elements skipped (kinks or skip())
  std::string message;
  explicit operator bool() const noexcept { return ok; }
};

template <class F>
GradcheckReport gradcheck(F&& f, const std::vector<Tensor<double>>& inputs, const GradcheckOptions& options = {}) {
  GradcheckReport report;
  std::vector<Tensor<double>> values;
  for (const auto& t : inputs) values.push_back(t.clone());
  auto evaluate = [&]() {
    NoGradGuard guard;
    std::vector<Var<double>> vars;
    for (const auto& v : values) vars.emplace_back(v, false);
    return Var<double>(f(vars)).value().contiguous();
  };
  const Tensor<double> y0 = evaluate();
  const std::int64_t m = y0.numel();
  const bool full = m <= options.max_full_outputs;
  const std::int64_t rows = full ? m : 4;
  Generator gen(12345);
  for (std::int64_t r = 0; r < rows; ++r) {
    // Seed: one output element, or a random projection of all of them.
    Tensor<double> seed = zeros<double>(y0.shape());
    if (full) {
      seed.data()[r] = 1.0;
    } else {
      for (std::int64_t j = 0; j < m; ++j) seed.data()[j] = gen.uniform(-1.0, 1.0);
    }
    std::vector<Var<double>> vars;
    for (const auto& v : values) vars.emplace_back(v, true);
    const Var<double> y = f(vars);
    const Var<double> projected = sum(mul(y, seed));
    std::vector<Tensor<double>> analytic;
    if (projected.requires_grad()) {
      analytic = grad(projected, vars);
    } else {
      for (const auto& v : values) analytic.push_back(zeros<double>(v.shape()));
    }
    auto project = [&](const Tensor<double>& out) {
      double s = 0.0;
      for (std::int64_t j = 0; j < m; ++j) s += out.data()[j] * seed.data()[j];
      return s;
    };
    for (std::size_t i = 0; i < values.size(); ++i) {
      const Tensor<double> a = analytic[i].contiguous();
      double* x = values[i].data();
      for (std::int64_t k = 0; k < values[i].numel(); ++k) {
        if (options.skip && options.skip(i, k)) {
          ++report.skipped;
          continue;
        }
        const double saved = x[k];
        x[k] = saved + options.eps;
        const double plus = project(evaluate());
        x[k] = saved - options.eps;
        const double minus = project(evaluate());
        x[k] = saved;
        const double numeric = (plus - minus) / (2.0 * options.eps);
        if (options.skip_kinks) {
          const double centre = project(evaluate());
          const double right = (plus - centre) / options.eps;
          const double left = (centre - minus) / options.eps;
          if (std::abs(right - left) > 10.0 * (options.atol + options.rtol * std::abs(numeric)) &&
              std::abs(right - left) > 1e-2 * std::max(1.0, std::abs(numeric))) {
            ++report.skipped;
            continue;
          }
        }
        const double analytical = a.data()[k];
        ++report.checked;
        if (!(std::abs(analytical - numeric) <= options.atol + options.rtol * std::abs(numeric))) {
          report.ok = false;
          report.input = i;
          report.index = k;
          report.output = r;
          report.analytical = analytical;
          report.numerical = numeric;
          std::ostringstream msg;
          msg.precision(10);
          msg << "gradcheck: input " << i << " (shape " << to_string(values[i].shape()) << "), element " << k
              << (full ? ", output element " : ", projection ") << r << ": analytical " << analytical
              << " vs numerical " << numeric;
          report.message = msg.str();
          return report;
        }
      }
    }
  }
  report.message = "gradcheck: ok";
  return report;
}

// The signature of PyTorch's gradcheck defaults.
template <class F>
GradcheckReport gradcheck(F&& f, const std::vector<Tensor<double>>& inputs, double eps, double atol = 1e-5,
                          double rtol = 1e-3) {
  GradcheckOptions options;
  options.eps = eps;
  options.atol = atol;
  options.rtol = rtol;
  return gradcheck(std::forward<F>(f), inputs, options);
}

}  // namespace nabla

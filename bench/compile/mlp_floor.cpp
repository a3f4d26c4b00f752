// Compile-time probe (issue 7): the floor. The same MLP training written by
// hand on Eigen (forward, backward and SGD momentum spelled out), including
// only Eigen and xsimd: what any library built on them cannot compile below.
#include <Eigen/Core>
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Row = Eigen::Matrix<float, 1, Eigen::Dynamic>;

struct Layer {
  Matrix w, w_velocity;
  Row b, b_velocity;
  Layer(std::int64_t in, std::int64_t out, std::mt19937& gen) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    std::uniform_real_distribution<float> u(-bound, bound);
    w = Matrix::NullaryExpr(in, out, [&] { return u(gen); });
    b = Row::NullaryExpr(out, [&] { return u(gen); });
    w_velocity = Matrix::Zero(in, out);
    b_velocity = Row::Zero(out);
  }
  void step(const Matrix& dw, const Row& db, float lr) {
    w_velocity = 0.9f * w_velocity + dw;
    b_velocity = 0.9f * b_velocity + db;
    w -= lr * w_velocity;
    b -= lr * b_velocity;
  }
};

// Row-wise ReLU with xsimd, so the floor includes and uses both libraries.
void relu_inplace(Matrix& m) {
  using batch = xsimd::batch<float>;
  float* p = m.data();
  const std::int64_t n = m.size();
  std::int64_t i = 0;
  for (; i + static_cast<std::int64_t>(batch::size) <= n; i += batch::size)
    xsimd::max(batch::load_unaligned(p + i), batch(0.0f)).store_unaligned(p + i);
  for (; i < n; ++i) p[i] = std::max(p[i], 0.0f);
}

int main() {
  constexpr std::int64_t samples = 2048, batch = 64, in = 784, classes = 10;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const Matrix images = Matrix::NullaryExpr(samples, in, [&] { return uniform(gen); });
  const Matrix projection = Matrix::NullaryExpr(in, classes, [&] { return normal(gen); });
  const Matrix scores = images * projection;
  Eigen::VectorXi labels(samples);
  for (std::int64_t i = 0; i < samples; ++i) scores.row(i).maxCoeff(&labels[i]);

  Layer l1(in, 256, gen), l2(256, 128, gen), l3(128, classes, gen);
  for (int epoch = 0; epoch < 10; ++epoch) {
    double total = 0;
    for (std::int64_t first = 0; first < samples; first += batch) {
      const auto x = images.middleRows(first, batch);
      Matrix h1 = (x * l1.w).rowwise() + l1.b;
      relu_inplace(h1);
      Matrix h2 = (h1 * l2.w).rowwise() + l2.b;
      relu_inplace(h2);
      Matrix logits = (h2 * l3.w).rowwise() + l3.b;
      // Softmax cross-entropy and its gradient (softmax - onehot) / batch.
      Matrix d3(batch, classes);
      for (std::int64_t r = 0; r < batch; ++r) {
        const float top = logits.row(r).maxCoeff();
        const Row e = (logits.row(r).array() - top).exp().matrix();
        const float sum = e.sum();
        const int label = labels[first + r];
        total += std::log(sum) - (logits(r, label) - top);
        d3.row(r) = e / sum;
        d3(r, label) -= 1.0f;
      }
      d3 /= static_cast<float>(batch);
      Matrix d2 = (d3 * l3.w.transpose()).cwiseProduct((h2.array() > 0).cast<float>().matrix());
      Matrix d1 = (d2 * l2.w.transpose()).cwiseProduct((h1.array() > 0).cast<float>().matrix());
      l3.step(h2.transpose() * d3, d3.colwise().sum(), 0.05f);
      l2.step(h1.transpose() * d2, d2.colwise().sum(), 0.05f);
      l1.step(x.transpose() * d1, d1.colwise().sum(), 0.05f);
    }
    std::printf("epoch %d: loss %.4f\n", epoch + 1, total / samples);
  }
  Matrix h1 = (images * l1.w).rowwise() + l1.b;
  relu_inplace(h1);
  Matrix h2 = (h1 * l2.w).rowwise() + l2.b;
  relu_inplace(h2);
  const Matrix logits = (h2 * l3.w).rowwise() + l3.b;
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    int predicted = 0;
    logits.row(i).maxCoeff(&predicted);
    correct += predicted == labels[i] ? 1 : 0;
  }
  std::printf("train accuracy: %.2f%%\n", 100.0 * static_cast<double>(correct) / samples);
  return 0;
}

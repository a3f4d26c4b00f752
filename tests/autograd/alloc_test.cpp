// A steady-state training step of a two-layer MLP written with the ops makes
// no heap allocations: every operator new is counted while a flag is set.
#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "nabla/autograd.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* counted(std::size_t size, std::size_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (size + align - 1) / align * align)
                                              : std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return counted(size, 0); }
void* operator new[](std::size_t size) { return counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted(size, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted(size, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using nabla::Shape;
using nabla::Tensor;
using nabla::Var;

TEST_CASE("a steady-state MLP training step makes no heap allocations", "[autograd][alloc]") {
  nabla::Generator gen(1);
  Var<float> w1(nabla::randn<float>(Shape{784, 256}, gen, 0.0f, 0.05f));
  Var<float> b1(nabla::zeros<float>(Shape{256}));
  Var<float> w2(nabla::randn<float>(Shape{256, 10}, gen, 0.0f, 0.05f));
  Var<float> b2(nabla::zeros<float>(Shape{10}));
  const Var<float> x(nabla::rand<float>(Shape{64, 784}, gen), false);
  const Tensor<std::int64_t> labels = nabla::randint<std::int64_t>(0, 10, Shape{64}, gen);
  float first_loss = 0.0f;
  float last_loss = 0.0f;
  auto step = [&] {
    const Var<float> h = nabla::relu(nabla::matmul(x, w1) + b1);
    const Var<float> loss = nabla::cross_entropy(nabla::matmul(h, w2) + b2, labels);
    loss.backward();
    nabla::NoGradGuard guard;
    for (Var<float>* p : {&w1, &b1, &w2, &b2}) {
      nabla::add_(p->value(), p->grad(), -0.1f);
      p->zero_grad();
    }
    return loss.item();
  };
  first_loss = step();
  step();
  step();
  allocations = 0;
  counting = true;
  for (int i = 0; i < 5; ++i) last_loss = step();
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(last_loss < first_loss);  // it is really training
}

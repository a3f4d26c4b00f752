// A steady-state training step of the CNN (forward, loss, backward, SGD with
// momentum) makes no heap allocation after the first steps: every form of
// operator new is counted while a flag is set.
#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"
#include "nabla/optim.hpp"

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
void* counted_nothrow(std::size_t size, std::size_t align) noexcept {
  try {
    return counted(size, align);
  } catch (...) {
    return nullptr;
  }
}
}  // namespace

void* operator new(std::size_t size) { return counted(size, 0); }
void* operator new[](std::size_t size) { return counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_nothrow(size, 0); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_nothrow(size, 0); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_nothrow(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_nothrow(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

using namespace nabla;

TEST_CASE("a steady-state CNN training step makes no heap allocations", "[nn][alloc]") {
  Generator gen(2);
  nn::Sequential<float> net(nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(),
                            nn::MaxPool2d<float>(2), nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen),
                            nn::ReLU<float>(), nn::MaxPool2d<float>(2), nn::Flatten<float>(),
                            nn::Linear<float>(3136, 128, true, gen), nn::ReLU<float>(),
                            nn::Linear<float>(128, 10, true, gen));
  optim::SGD<float> opt(net.parameters(), 0.05, optim::SGDOptions().momentum(0.9));
  const Var<float> x(rand<float>(Shape{8, 1, 28, 28}, gen), false);
  const Tensor<std::int64_t> labels = randint<std::int64_t>(0, 10, Shape{8}, gen);
  auto step = [&] {
    net.zero_grad();  // the module's walk, like opt.zero_grad(), allocates nothing
    const Var<float> loss = cross_entropy(net(x), labels);
    loss.backward();
    opt.step();
    return loss.item();
  };
  const float first = step();
  step();
  allocations = 0;
  counting = true;
  float last = 0.0f;
  for (int i = 0; i < 3; ++i) last = step();
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(last < first);  // it is really training
}

TEST_CASE("optimizer steps make no heap allocations once their state exists", "[optim][alloc]") {
  Generator gen(3);
  nn::Linear<double> lin(64, 32, true, gen);
  const Var<double> x(randn<double>(Shape{16, 64}, gen), false);
  optim::Adam<double> adam(lin.parameters(), optim::AdamOptions(1e-3).amsgrad(true).weight_decay(1e-2));
  optim::AdamW<double> adamw(lin.parameters(), 1e-3);
  optim::RMSprop<double> rms(lin.parameters(), optim::RMSpropOptions(1e-3).momentum(0.9).centered(true));
  optim::SGD<double> sgd(lin.parameters(), 1e-3, optim::SGDOptions().momentum(0.9).nesterov(true).weight_decay(1e-4));
  sum(square(lin(x))).backward();
  std::vector<optim::Optimizer<double>*> all{&adam, &adamw, &rms, &sgd};
  const std::vector<Var<double>> params = lin.parameters();  // building the list allocates
  for (auto* o : all) o->step();
  allocations = 0;
  counting = true;
  for (int i = 0; i < 3; ++i) {
    for (auto* o : all) o->step();
  }
  const double norm = optim::clip_grad_norm(params, 0.5);
  optim::clip_grad_value(params, 0.1);
  sgd.zero_grad();
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(norm > 0.0);
}

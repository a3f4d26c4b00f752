// Replaces every form of global operator new/delete with malloc/free and
// counts allocations while nabla::testing::counting is set, for tests that
// prove a steady-state step allocates nothing. The replacement functions are
// definitions: include this header in one translation unit per test binary.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace nabla::testing {
// Set `counting` around the code under test; `allocations` counts every
// operator new meanwhile.
inline std::atomic<bool> counting{false};
inline std::atomic<long> allocations{0};

namespace alloc_detail {

// Out of line, with release() below: once GCC inlines the replacements it
// pairs malloc in one with free in another and, at -O1, reports
// -Wmismatched-new-delete for new[]/delete pairs that are in fact matched.
[[gnu::noinline]] inline void* counted(std::size_t size, std::size_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (size + align - 1) / align * align)
                                              : std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
inline void* counted_nothrow(std::size_t size, std::size_t align) noexcept {
  try {
    return counted(size, align);
  } catch (...) {
    return nullptr;
  }
}
[[gnu::noinline]] inline void release(void* p) noexcept { std::free(p); }
}  // namespace alloc_detail
}  // namespace nabla::testing

void* operator new(std::size_t size) { return nabla::testing::alloc_detail::counted(size, 0); }
void* operator new[](std::size_t size) { return nabla::testing::alloc_detail::counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) {
  return nabla::testing::alloc_detail::counted(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return nabla::testing::alloc_detail::counted(size, static_cast<std::size_t>(a));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return nabla::testing::alloc_detail::counted_nothrow(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return nabla::testing::alloc_detail::counted_nothrow(size, 0);
}
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return nabla::testing::alloc_detail::counted_nothrow(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return nabla::testing::alloc_detail::counted_nothrow(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete[](void* p) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete(void* p, std::size_t) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete[](void* p, std::size_t) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete(void* p, std::align_val_t) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { nabla::testing::alloc_detail::release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { nabla::testing::alloc_detail::release(p); }

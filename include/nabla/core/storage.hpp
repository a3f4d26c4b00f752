// Storage: reference-counted, 64-byte-aligned buffers drawn from a caching
// allocator with size-classed free lists.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>

#include "nabla/core/error.hpp"

namespace nabla {

// What the caching allocator holds and has handed out, for reports and tests.
struct AllocatorStats {
  std::size_t cached_bytes = 0;   // in free lists, ready for reuse
  std::size_t cached_blocks = 0;
  std::size_t live_bytes = 0;     // handed out and not yet returned
  std::size_t live_blocks = 0;
  std::size_t hits = 0;           // requests served from a free list
  std::size_t misses = 0;         // requests that went to the system
};

// Size-classed, thread-safe cache of aligned blocks. A freshly faulted-in
// large buffer per op costs up to 4x on this class of machine, so freed
// blocks are kept and reused rather than handed back to the system.
class CachingAllocator {
 public:
  static constexpr std::size_t alignment = 64;
  static constexpr std::size_t sub_classes = 4;  // per power of two: <= 25% slack

  static CachingAllocator& instance() {
    static CachingAllocator allocator;  // function-local: one per program, ODR-safe
    return allocator;
  }

  // The size class actually handed out for a request of `bytes`.
  static std::size_t rounded_size(std::size_t bytes) { return class_size(class_index(bytes)); }

  void* allocate(std::size_t bytes) {
    const std::size_t index = class_index(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (FreeBlock* block = free_[index]) {
        free_[index] = block->next;
        const std::size_t size = class_size(index);
        cached_bytes_ -= size;
        --cached_blocks_;
        live_bytes_ += size;
        ++live_blocks_;
        ++hits_;
        return block;
      }
      ++misses_;
    }
    const std::size_t size = class_size(index);
    void* memory = ::operator new(size, std::align_val_t{alignment});
    std::lock_guard<std::mutex> lock(mutex_);
    live_bytes_ += size;
    ++live_blocks_;
    return memory;
  }

  void deallocate(void* memory, std::size_t bytes) noexcept {
    if (!memory) return;
    const std::size_t index = class_index(bytes);
    const std::size_t size = class_size(index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_bytes_ -= size;
      --live_blocks_;
      if (cached_bytes_ + size <= cache_limit_) {
        auto* block = static_cast<FreeBlock*>(memory);
        block->next = free_[index];
        free_[index] = block;
        cached_bytes_ += size;
        ++cached_blocks_;
        return;
      }
    }
    ::operator delete(memory, std::align_val_t{alignment});
  }

  // Returns every cached block to the system.
  void release() noexcept {
    FreeBlock* lists[class_count];
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::copy(std::begin(free_), std::end(free_), lists);
      std::fill(std::begin(free_), std::end(free_), nullptr);
      cached_bytes_ = 0;
      cached_blocks_ = 0;
    }
    for (FreeBlock* block : lists) {
      while (block) {
        FreeBlock* next = block->next;
        ::operator delete(block, std::align_val_t{alignment});
        block = next;
      }
    }
  }

  // Caps the bytes kept for reuse; blocks freed beyond it go to the system.
  void set_cache_limit(std::size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    cache_limit_ = bytes;
  }

  AllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {cached_bytes_, cached_blocks_, live_bytes_, live_blocks_, hits_, misses_};
  }

  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

 private:
  CachingAllocator() = default;
  ~CachingAllocator() { release(); }

  struct FreeBlock {
    FreeBlock* next;
  };

  // Classes: 64 bytes, then four steps per power of two.
  static constexpr std::size_t class_count = 64 * sub_classes;

  static std::size_t class_index(std::size_t bytes) {
    if (bytes <= alignment) return 0;
    const unsigned power = static_cast<unsigned>(std::bit_width(bytes - 1)) - 1;  // 2^power < bytes <= 2^(power+1)
    const std::size_t base = std::size_t{1} << power;
    const std::size_t step = base / sub_classes;
    const std::size_t sub = (bytes - base + step - 1) / step;  // 1..sub_classes
    return (power - 5) * sub_classes + sub - 1;
  }
  static std::size_t class_size(std::size_t index) {
    if (index == 0) return alignment;
    const std::size_t power = index / sub_classes + 5;
    const std::size_t sub = index % sub_classes + 1;
    const std::size_t base = std::size_t{1} << power;
    return base + sub * (base / sub_classes);
  }

  mutable std::mutex mutex_;
  FreeBlock* free_[class_count] = {};
  std::size_t cache_limit_ = std::size_t{4} << 30;
  std::size_t cached_bytes_ = 0;
  std::size_t cached_blocks_ = 0;
  std::size_t live_bytes_ = 0;
  std::size_t live_blocks_ = 0;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

// The allocator's current figures.
inline AllocatorStats allocator_stats() { return CachingAllocator::instance().stats(); }

// Hands every cached block back to the system.
inline void release_cached_memory() { CachingAllocator::instance().release(); }

namespace detail {

// Lives in the first 64 bytes of every storage block, so a tensor's buffer,
// its reference count and its version counter cost one allocation together.
struct StorageHeader {
  std::atomic<std::int64_t> refs{1};
  std::atomic<std::uint64_t> version{0};  // bumped by in-place writes; autograd checks it
  std::size_t nbytes = 0;                 // bytes requested for data
};
static_assert(sizeof(StorageHeader) <= CachingAllocator::alignment);

}  // namespace detail

// A shared handle to a block of raw bytes. Copies share the block.
class Storage {
 public:
  // 128 TiB, the user address space of x86-64 and AArch64 with 4-level page
  // tables: larger requests are refused up front (the allocator's size
  // classes would wrap around near 2^64, and sanitizers abort on them).
  static constexpr std::size_t max_bytes = std::size_t{1} << 47;

  Storage() = default;
  // Throws OutOfMemoryError (never std::bad_alloc) when the system refuses.
  explicit Storage(std::size_t nbytes) {
    if (nbytes > max_bytes) {
      throw OutOfMemoryError(detail::message("Storage: cannot allocate ", nbytes, " bytes: more than a process can address (",
                                             max_bytes, ")"));
    }
    void* memory = nullptr;
    try {
      memory = CachingAllocator::instance().allocate(nbytes + CachingAllocator::alignment);
    } catch (const std::bad_alloc&) {
      throw OutOfMemoryError(detail::message("Storage: out of memory allocating ", nbytes, " bytes"));
    }
    header_ = new (memory) detail::StorageHeader();
    header_->nbytes = nbytes;
  }
  Storage(const Storage& other) noexcept : header_(other.header_) {
    if (header_) header_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Storage(Storage&& other) noexcept : header_(std::exchange(other.header_, nullptr)) {}
  Storage& operator=(const Storage& other) noexcept {
    Storage(other).swap(*this);
    return *this;
  }
  Storage& operator=(Storage&& other) noexcept {
    Storage(std::move(other)).swap(*this);
    return *this;
  }
  ~Storage() { reset(); }

  void swap(Storage& other) noexcept { std::swap(header_, other.header_); }
  void reset() noexcept {
    if (header_ && header_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      const std::size_t bytes = header_->nbytes + CachingAllocator::alignment;
      header_->~StorageHeader();
      CachingAllocator::instance().deallocate(header_, bytes);
    }
    header_ = nullptr;
  }

  bool defined() const noexcept { return header_ != nullptr; }
  std::byte* data() const noexcept {
    return header_ ? reinterpret_cast<std::byte*>(header_) + CachingAllocator::alignment : nullptr;
  }
  std::size_t nbytes() const noexcept { return header_ ? header_->nbytes : 0; }
  std::int64_t use_count() const noexcept { return header_ ? header_->refs.load(std::memory_order_relaxed) : 0; }
  std::uint64_t version() const noexcept { return header_ ? header_->version.load(std::memory_order_relaxed) : 0; }
  void bump_version() const noexcept {
    if (header_) header_->version.fetch_add(1, std::memory_order_relaxed);
  }
  bool same_as(const Storage& other) const noexcept { return header_ == other.header_; }

 private:
  detail::StorageHeader* header_ = nullptr;
};

}  // namespace nabla

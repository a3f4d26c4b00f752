// DataLoader: shuffled, normalised batches of an ImageDataset, optionally
// prepared a few batches ahead on a background thread.
//
//   nabla::data::DataLoader<float> loader(train, {.batch_size = 64, .seed = 1,
//                                                  .mean = 0.1307, .stddev = 0.3081});
//   for (int e = 0; e < epochs; ++e) {
//     for (const auto& batch : loader.epoch(e)) {   // batch.images [B, 1, 28, 28]
//       ...                                          // batch.labels [B] (int64)
//     }
//   }
//
// or, without the range: loader.begin_epoch(e); while (auto b = loader.next()) {...}
//
// Epoch e visits every sample exactly once, in an order that depends only on
// (seed, e): the same seed gives the same batches on any machine, with or
// without prefetch. Each batch owns fresh tensors drawn from nabla's caching
// allocator (so steady-state batches reuse the same blocks and never touch
// the system heap), and stays valid for as long as you hold it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "nabla/core/error.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/data/dataset.hpp"

namespace nabla::data {

struct LoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = true;       // false: samples in dataset order every epoch
  std::uint64_t seed = 0;    // with the epoch number, fixes the order
  bool drop_last = false;    // drop a final batch smaller than batch_size
  bool flatten = false;      // images [B, rows*cols] (for MLPs) instead of [B, 1, rows, cols]
  double mean = 0.0;         // pixels become (value / 255 - mean) / stddev
  double stddev = 1.0;
  bool prefetch = false;     // prepare batches ahead on a background thread
  // With prefetch: at most this many batches prepared ahead. With a full
  // queue the thread naps until about half of it should be left, timed
  // from the pace at which batches are taken, so the training thread does
  // not have to wake it: on a virtual machine, waking a sleeping thread
  // costs the waker 25-100 us. Only if the nap runs late and one batch is
  // left does next() wake it.
  std::int64_t prefetch_depth = 8;
};

template <class T>
struct Batch {
  Tensor<T> images;              // [B, 1, rows, cols], or [B, rows*cols] with flatten
  Tensor<std::int64_t> labels;   // [B]
  std::int64_t index = 0;        // position of this batch in its epoch
  std::int64_t size() const noexcept { return labels.numel(); }
};

namespace detail {
struct LoaderTestAccess;

// dst[i] = (src[i] / 255 - mean) / stddev: the float steps of torchvision's
// ToTensor + Normalize, so values match it bit for bit. Fixed-size chunks
// over restrict pointers let compilers vectorise it even at -O2 (scalar
// int-to-float conversions and divisions cost 3x as much).
template <class T>
void normalize_pixels(const std::uint8_t* __restrict src, T* __restrict dst, std::int64_t n, T mean, T stddev) {
  constexpr std::int64_t chunk = 64;
  std::int64_t j = 0;
  for (; j + chunk <= n; j += chunk) {
    for (std::int64_t k = 0; k < chunk; ++k) dst[j + k] = (static_cast<T>(src[j + k]) / T{255} - mean) / stddev;
  }
  for (; j < n; ++j) dst[j] = (static_cast<T>(src[j]) / T{255} - mean) / stddev;
}

// Asks the cache for n bytes from p (a hint: no effect on results).
inline void prefetch_bytes(const std::uint8_t* p, std::int64_t n) {
  for (std::int64_t k = 0; k < n; k += 64) __builtin_prefetch(p + k);
}

// How long the prefetch thread may nap with `queued` batches ready when one
// is taken every `pace` (an estimate; zero if unknown): until half the depth
// (at least 2) should be left. The margin absorbs late ends of the nap (a
// sleeping virtual CPU wakes tens of microseconds late) and uneven steps;
// with a quarter, one nap in two still ran late on the MNIST example.
// Zero: no nap can be timed; wait to be woken.
inline std::chrono::nanoseconds prefetch_nap(std::chrono::nanoseconds pace, std::int64_t queued, std::int64_t depth) {
  const std::int64_t keep = std::max<std::int64_t>(2, depth / 2);
  if (pace <= std::chrono::nanoseconds::zero() || queued <= keep) return std::chrono::nanoseconds::zero();
  return pace * (queued - keep);
}

inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace detail

template <class T = float>
class DataLoader {
 public:
  DataLoader(ImageDataset dataset, LoaderOptions options = {}) : dataset_(std::move(dataset)), options_(options) {
    if (options_.batch_size < 1) {
      throw ValueError(detail::message("DataLoader: batch_size must be at least 1, got ", options_.batch_size));
    }
    if (!std::isfinite(options_.mean) || !std::isfinite(options_.stddev) || !(options_.stddev > 0.0)) {
      throw ValueError(detail::message("DataLoader: normalisation needs a finite mean and a positive stddev, got mean ",
                                       options_.mean, " and stddev ", options_.stddev));
    }
    if (options_.prefetch_depth < 1) {
      throw ValueError(
          detail::message("DataLoader: prefetch_depth must be at least 1, got ", options_.prefetch_depth));
    }
    const std::int64_t n = dataset_.size();
    num_batches_ = options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
    order_.resize(static_cast<std::size_t>(n));
    if (options_.prefetch) worker_ = std::thread([this] { work(); });
  }

  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  ~DataLoader() {
    if (worker_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
      }
      cv_.notify_all();
      worker_.join();
    }
  }

  std::int64_t num_batches() const noexcept { return num_batches_; }
  const ImageDataset& dataset() const noexcept { return dataset_; }
  const LoaderOptions& options() const noexcept { return options_; }
  // The sample order of the current epoch.
  const std::vector<std::int64_t>& order() const noexcept { return order_; }

  // Starts epoch `epoch` (>= 0) from its first batch; may be called at any
  // time, abandoning the rest of the current epoch.
  void begin_epoch(std::int64_t epoch) {
    if (epoch < 0) throw ValueError(detail::message("DataLoader::begin_epoch: epoch must be non-negative, got ", epoch));
    if (options_.prefetch) {
      // Stop the worker before the order changes under it; drop what it built.
      std::unique_lock<std::mutex> lock(mutex_);
      build_end_ = build_next_;
      consumer_waiting_ = true;
      cv_.wait(lock, [this] { return !building_; });
      consumer_waiting_ = false;
      ready_.clear();
      last_take_ = {};  // the gap between epochs says nothing of the pace
    }
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::int64_t>(i);
    if (options_.shuffle && order_.size() > 1) {
      Generator gen(detail::splitmix64(detail::splitmix64(options_.seed) ^ static_cast<std::uint64_t>(epoch)));
      for (std::size_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[gen.below(i + 1)]);
    }
    epoch_ = epoch;
    cursor_ = 0;
    if (options_.prefetch && num_batches_ > 0) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        build_next_ = 0;
        build_end_ = num_batches_;
      }
      cv_.notify_all();
    }
  }

  // The next batch of the current epoch, or nothing at its end. Rethrows an
  // exception raised while the batch was prepared in the background.
  std::optional<Batch<T>> next() {
    if (epoch_ < 0) throw ValueError("DataLoader::next: no epoch has begun; call begin_epoch(e) or use epoch(e)");
    if (cursor_ >= num_batches_) return std::nullopt;
    if (!options_.prefetch) return make_batch(cursor_++);
    std::unique_lock<std::mutex> lock(mutex_);
    if (ready_.empty()) {
      consumer_waiting_ = true;
      cv_.wait(lock, [this] { return !ready_.empty(); });
      consumer_waiting_ = false;
    }
    Prepared item = std::move(ready_.front());
    ready_.pop_front();
    ++cursor_;
    note_pace();
    if (item.error) {
      cursor_ = num_batches_;  // the epoch cannot continue past a failed batch
      lock.unlock();
      std::rethrow_exception(item.error);
    }
    // Wake the worker only when it sleeps and the queue is nearly empty.
    const bool wake = worker_idle_ && build_next_ < build_end_ && static_cast<std::int64_t>(ready_.size()) <= 1;
    lock.unlock();
    if (wake) cv_.notify_all();
    return std::move(item.batch);
  }

  // The batches of epoch `epoch` as a range for a for loop (calls begin_epoch).
  class EpochRange {
   public:
    class iterator {
     public:
      using value_type = Batch<T>;
      using difference_type = std::ptrdiff_t;
      iterator(DataLoader* loader, std::optional<Batch<T>> current) : loader_(loader), current_(std::move(current)) {}
      const Batch<T>& operator*() const { return *current_; }
      const Batch<T>* operator->() const { return &*current_; }
      iterator& operator++() {
        current_ = loader_->next();
        return *this;
      }
      void operator++(int) { ++*this; }
      bool operator==(std::default_sentinel_t) const noexcept { return !current_.has_value(); }

     private:
      DataLoader* loader_;
      std::optional<Batch<T>> current_;
    };
    explicit EpochRange(DataLoader* loader) : loader_(loader) {}
    iterator begin() { return iterator(loader_, loader_->next()); }
    std::default_sentinel_t end() const noexcept { return {}; }

   private:
    DataLoader* loader_;
  };

  EpochRange epoch(std::int64_t epoch) {
    begin_epoch(epoch);
    return EpochRange(this);
  }

 private:
  friend struct detail::LoaderTestAccess;

  // How many samples ahead make_batch fetches a row (2 and 4 measured alike).
  static constexpr std::int64_t rows_ahead = 2;

  Batch<T> make_batch(std::int64_t b) const {
    if (b == fail_at_batch_) throw IOError(detail::message("DataLoader: injected failure at batch ", b));
    const std::int64_t start = b * options_.batch_size;
    const std::int64_t count = std::min(options_.batch_size, dataset_.size() - start);
    const std::int64_t rows = dataset_.rows();
    const std::int64_t cols = dataset_.cols();
    const std::int64_t pixels = rows * cols;
    Batch<T> batch;
    batch.index = b;
    batch.images = Tensor<T>::empty(options_.flatten ? Shape{count, pixels} : Shape{count, 1, rows, cols});
    batch.labels = Tensor<std::int64_t>::empty(Shape{count});
    const std::uint8_t* images = dataset_.images().data();
    const std::int64_t* labels = dataset_.labels().data();
    T* dst = batch.images.data();
    std::int64_t* label_dst = batch.labels.data();
    const T mean = static_cast<T>(options_.mean);
    const T stddev = static_cast<T>(options_.stddev);
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t sample = order_[static_cast<std::size_t>(start + i)];
      // Shuffled rows are scattered and mostly cold: fetch the row a few
      // samples ahead while this one converts (a batch of 64 Fashion-MNIST
      // images: 32-39 us before, 19-23 us with it, measured here).
      if (i + rows_ahead < count) {
        const std::int64_t next = order_[static_cast<std::size_t>(start + i + rows_ahead)];
        detail::prefetch_bytes(images + next * pixels, pixels);
      }
      detail::normalize_pixels(images + sample * pixels, dst + i * pixels, pixels, mean, stddev);
      label_dst[i] = labels[sample];
    }
    return batch;
  }

  // The background thread: builds the batches of the current epoch in
  // order, up to prefetch_depth ahead of the consumer.
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      const auto may_build = [this] {
        return build_next_ < build_end_ && static_cast<std::int64_t>(ready_.size()) < options_.prefetch_depth;
      };
      if (!stop_ && !may_build()) {
        const auto wanted = [&] { return stop_ || may_build(); };
        // A full queue with more to build: nap until it should run low.
        const auto nap = build_next_ < build_end_ ? detail::prefetch_nap(pace_, static_cast<std::int64_t>(ready_.size()),
                                                                          options_.prefetch_depth)
                                                  : std::chrono::nanoseconds::zero();
        worker_idle_ = true;
        bool go = true;
        if (nap > std::chrono::nanoseconds::zero()) {
          go = cv_.wait_for(lock, nap, wanted);
        } else {
          cv_.wait(lock, wanted);
        }
        worker_idle_ = false;
        if (!go) continue;  // the queue is still full: nap again, timed from the pace now
      }
      if (stop_) return;
      const std::int64_t b = build_next_++;
      building_ = true;
      lock.unlock();
      Prepared item;
      try {
        item.batch = make_batch(b);
      } catch (...) {
        item.error = std::current_exception();
      }
      lock.lock();
      building_ = false;
      if (item.error) build_end_ = build_next_;  // nothing after a failed batch
      ready_.push_back(std::move(item));
      if (consumer_waiting_) cv_.notify_all();
    }
  }

  struct Prepared {
    std::optional<Batch<T>> batch;
    std::exception_ptr error;
  };

  // Under mutex_, as a batch is taken: pace_ follows the time between takes
  // (a running mean over about 8 of them).
  void note_pace() {
    const auto now = std::chrono::steady_clock::now();
    if (last_take_ != std::chrono::steady_clock::time_point{}) {
      const auto gap = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_take_);
      pace_ = pace_ == std::chrono::nanoseconds::zero() ? gap : pace_ + (gap - pace_) / 8;
    }
    last_take_ = now;
  }

  ImageDataset dataset_;
  LoaderOptions options_;
  std::vector<std::int64_t> order_;
  std::int64_t num_batches_ = 0;
  std::int64_t epoch_ = -1;
  std::int64_t cursor_ = 0;
  std::int64_t fail_at_batch_ = -1;  // test seam (detail::LoaderTestAccess)

  // Prefetch state, guarded by mutex_. The worker builds batches
  // build_next_ .. build_end_ - 1 of the current epoch into ready_.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::int64_t build_next_ = 0;
  std::int64_t build_end_ = 0;
  std::deque<Prepared> ready_;
  bool building_ = false;          // the worker is building a batch (reading order_)
  bool worker_idle_ = false;       // the worker waits for room or work
  bool consumer_waiting_ = false;  // next() or begin_epoch() waits for the worker
  bool stop_ = false;
  std::chrono::steady_clock::time_point last_take_{};  // when next() last took a batch (this epoch)
  std::chrono::nanoseconds pace_{0};                    // estimated time between takes
  std::thread worker_;
};

namespace detail {
// Lets tests make batch `b` fail, to check how errors cross threads.
struct LoaderTestAccess {
  template <class T>
  static void fail_at_batch(DataLoader<T>& loader, std::int64_t b) {
    loader.fail_at_batch_ = b;
  }
};
}  // namespace detail

}  // namespace nabla::data

// Training progress of one epoch: a live bar redrawn in place on a terminal,
// or a plain line every 10% of the epoch when the output is a file or pipe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace mnist {

inline bool stdout_is_terminal() {
#if defined(_WIN32)
  return _isatty(_fileno(stdout)) != 0;
#else
  return isatty(fileno(stdout)) != 0;
#endif
}

// "1m05s", "42s", "3.1s"
inline std::string format_duration(double seconds) {
  char buf[32];
  seconds = std::max(0.0, seconds);
  if (seconds < 10.0) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 60.0) {
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  } else {
    const auto s = static_cast<long>(seconds + 0.5);
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  }
  return buf;
}

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  Progress(std::int64_t epoch, std::int64_t epochs, std::int64_t batches, bool live)
      : epoch_(epoch), epochs_(epochs), batches_(batches), live_(live), start_(Clock::now()), last_draw_(start_) {}

  // After each batch: batches done so far, images seen, summed loss (per
  // image) and correct predictions.
  void update(std::int64_t done, std::int64_t images, double loss_sum, std::int64_t correct) {
    const auto now = Clock::now();
    const bool last = done == batches_;
    if (live_) {
      // Redraw at most 10 times a second, and at the end.
      if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      std::printf("\r%s\x1b[K", line(done, images, loss_sum, correct, now, true).c_str());
      std::fflush(stdout);
    } else {
      const std::int64_t tenth = done * 10 / std::max<std::int64_t>(1, batches_);
      if (tenth <= printed_tenth_ || last) return;  // the epoch line follows the last batch
      printed_tenth_ = tenth;
      std::printf("%s\n", line(done, images, loss_sum, correct, now, false).c_str());
      std::fflush(stdout);
    }
  }

  // Clears the bar so that the epoch summary takes its place.
  void finish() {
    if (live_) {
      std::printf("\r\x1b[K");
      std::fflush(stdout);
    }
  }

 private:
  std::string line(std::int64_t done, std::int64_t images, double loss_sum, std::int64_t correct, Clock::time_point now,
                   bool bar) const {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0.0 ? static_cast<double>(images) / elapsed : 0.0;
    const double eta = done > 0 ? elapsed * static_cast<double>(batches_ - done) / static_cast<double>(done) : 0.0;
    const double n = static_cast<double>(std::max<std::int64_t>(1, images));
    std::string head = "epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_) + " ";
    if (bar) {
      constexpr int width = 24;
      const auto filled = static_cast<int>(width * done / std::max<std::int64_t>(1, batches_));
      head += "[" + std::string(static_cast<std::size_t>(filled), '=') +
              (filled < width ? ">" + std::string(static_cast<std::size_t>(width - filled - 1), ' ') : "") + "] ";
    }
    char tail[160];
    std::snprintf(tail, sizeof tail, "%lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %s",
                  static_cast<long long>(done), static_cast<long long>(batches_), loss_sum / n,
                  100.0 * static_cast<double>(correct) / n, rate, format_duration(eta).c_str());
    return head + tail;
  }

  std::int64_t epoch_;
  std::int64_t epochs_;
  std::int64_t batches_;
  bool live_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  std::int64_t printed_tenth_ = 0;
};

}  // namespace mnist

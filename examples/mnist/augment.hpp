// Data augmentation for the MNIST example: each training image moved by a
// random whole-pixel offset, a cheap way to generalise better from few images.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <nabla/core.hpp>

namespace mnist {

class RandomShift {
 public:
  // Offsets are drawn from [-max_shift, max_shift] in x and y; uncovered
  // pixels get `background` (the normalised value of a black pixel).
  RandomShift(int max_shift, float background, std::uint64_t seed)
      : max_shift_(max_shift), background_(background), gen_(seed) {}

  // Shifts every image of `images` ([B, rows*cols] or [B, 1, rows, cols],
  // contiguous) in place.
  void operator()(const nabla::Tensor<float>& images, std::int64_t rows, std::int64_t cols) {
    if (max_shift_ <= 0) return;
    const std::int64_t pixels = rows * cols;
    const std::int64_t count = images.numel() / pixels;
    scratch_.resize(static_cast<std::size_t>(pixels));
    const auto span = static_cast<std::uint64_t>(2 * max_shift_ + 1);
    for (std::int64_t i = 0; i < count; ++i) {
      const auto dy = static_cast<std::int64_t>(gen_.below(span)) - max_shift_;
      const auto dx = static_cast<std::int64_t>(gen_.below(span)) - max_shift_;
      if (dx == 0 && dy == 0) continue;
      float* image = images.data() + i * pixels;
      std::fill(scratch_.begin(), scratch_.end(), background_);
      // Output (y, x) takes input (y - dy, x - dx) where that lies inside.
      const std::int64_t x0 = std::max<std::int64_t>(0, dx), x1 = std::min(cols, cols + dx);
      for (std::int64_t y = std::max<std::int64_t>(0, dy); y < std::min(rows, rows + dy); ++y) {
        std::copy(image + (y - dy) * cols + (x0 - dx), image + (y - dy) * cols + (x1 - dx),
                  scratch_.data() + y * cols + x0);
      }
      std::copy(scratch_.begin(), scratch_.end(), image);
    }
    images.bump_version();
  }

 private:
  int max_shift_;
  float background_;
  nabla::Generator gen_;
  std::vector<float> scratch_;
};

}  // namespace mnist

// Writes a small synthetic digit data set in MNIST's IDX format, for the
// example's end-to-end test on machines without the real data:
//
//   mnist_make_synthetic OUT_DIR [TRAIN_COUNT [TEST_COUNT]]   (1000 and 500)
//
// Each image is a seven-segment digit (class k drawn as the display shows k)
// near the centre, with a small random offset, size, slant and stroke width,
// noisy ink and a speckled background: quick to learn (a working training
// loop gets well above 80% in one epoch of 1,000), but not a copy task.
// Deterministic: the same arguments give the same bytes on any machine.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr int kRows = 28;
constexpr int kCols = 28;

// splitmix64: tiny, portable, and fully specified (unlike std distributions).
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53; }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
};

// Segments a..g as bits 0..6: a top, b top right, c bottom right, d bottom,
// e bottom left, f top left, g middle.
constexpr std::array<unsigned, 10> kDigits = {
    0b0111111, 0b0000110, 0b1011011, 0b1001111, 0b1100110,
    0b1101101, 0b1111101, 0b0000111, 0b1111111, 0b1101111,
};

// Segment endpoints in a unit glyph box (x right, y down).
constexpr std::array<std::array<double, 4>, 7> kSegments = {{
    {0, 0, 1, 0}, {1, 0, 1, 0.5}, {1, 0.5, 1, 1}, {0, 1, 1, 1}, {0, 0.5, 0, 1}, {0, 0, 0, 0.5}, {0, 0.5, 1, 0.5},
}};

double distance_to_segment(double px, double py, const std::array<double, 4>& s, double w, double h) {
  const double ax = s[0] * w, ay = s[1] * h, bx = s[2] * w, by = s[3] * h;
  const double dx = bx - ax, dy = by - ay;
  const double len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0) : 0.0;
  const double qx = ax + t * dx - px, qy = ay + t * dy - py;
  return std::sqrt(qx * qx + qy * qy);
}

void draw(int digit, Rng& rng, std::uint8_t* image) {
  const double w = rng.uniform(10.0, 12.0);
  const double h = rng.uniform(17.0, 19.0);
  const double slant = rng.uniform(-0.1, 0.1);  // x shift per unit of height above the middle
  const double half_width = rng.uniform(1.0, 1.6);
  const double left = (kCols - w) / 2 + rng.uniform(-1.0, 1.0);  // centred, as MNIST's digits, +-1 px
  const double top = (kRows - h) / 2 + rng.uniform(-1.0, 1.0);
  const double ink = rng.uniform(170.0, 255.0);
  for (int y = 0; y < kRows; ++y) {
    for (int x = 0; x < kCols; ++x) {
      const double gy = y + 0.5 - top;
      const double gx = x + 0.5 - left + slant * (gy - h / 2);
      double d = 1e9;
      for (int s = 0; s < 7; ++s) {
        if (kDigits[static_cast<std::size_t>(digit)] >> s & 1U) {
          d = std::min(d, distance_to_segment(gx, gy, kSegments[static_cast<std::size_t>(s)], w, h));
        }
      }
      // Soft edge over one pixel, noisy ink, sparse background speckle.
      double v = ink * std::clamp(half_width + 0.5 - d, 0.0, 1.0) * rng.uniform(0.8, 1.0);
      if (rng.below(12) == 0) v += rng.uniform(0.0, 60.0);
      image[y * kCols + x] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
}

void put_u32(std::ofstream& out, std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
  out.write(bytes, 4);
}

bool write_set(const std::filesystem::path& dir, const std::string& prefix, int count, std::uint64_t seed) {
  Rng rng{seed};
  std::vector<std::uint8_t> images(static_cast<std::size_t>(count) * kRows * kCols);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const int digit = rng.below(10);
    labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(digit);
    draw(digit, rng, images.data() + static_cast<std::size_t>(i) * kRows * kCols);
  }
  std::ofstream img(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  put_u32(img, 0x00000803);
  put_u32(img, static_cast<std::uint32_t>(count));
  put_u32(img, kRows);
  put_u32(img, kCols);
  img.write(reinterpret_cast<const char*>(images.data()), static_cast<std::streamsize>(images.size()));
  std::ofstream lab(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  put_u32(lab, 0x00000801);
  put_u32(lab, static_cast<std::uint32_t>(count));
  lab.write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size()));
  return static_cast<bool>(img) && static_cast<bool>(lab);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: mnist_make_synthetic OUT_DIR [TRAIN_COUNT [TEST_COUNT]]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const int train = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int test = argc > 3 ? std::atoi(argv[3]) : 500;
  if (train <= 0 || test <= 0) {
    std::fprintf(stderr, "mnist_make_synthetic: counts must be positive\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!write_set(dir, "train", train, 1) || !write_set(dir, "t10k", test, 2)) {
    std::fprintf(stderr, "mnist_make_synthetic: cannot write the IDX files in %s\n", dir.string().c_str());
    return 1;
  }
  std::printf("wrote %d training and %d test synthetic digits to %s\n", train, test, dir.string().c_str());
  return 0;
}

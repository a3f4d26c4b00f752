// read_idx: valid files (plain, gzip, by content not name) and every error
// path with its message.
#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "../io/temp_files.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/storage.hpp"
#include "nabla/data/idx.hpp"

using nabla::IOError;
using nabla::Shape;
using nabla::data::read_idx;
using nabla::io_test::read_bytes;
using nabla::io_test::TempDir;
using nabla::io_test::write_bytes;

namespace {

std::string data_file(const std::string& name) { return std::string(NABLA_TEST_FIXTURE_DIR) + "/data/" + name; }

// What scripts/fixtures/make_idx.py writes.
std::vector<std::uint8_t> expected_images(int n, int rows, int cols, int salt = 0) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < rows * cols; ++k) out.push_back(static_cast<std::uint8_t>((i * 37 + k * 11 + salt) % 256));
  }
  return out;
}

std::uint64_t allocator_requests() {
  const auto s = nabla::allocator_stats();
  return s.hits + s.misses;
}

}  // namespace

TEST_CASE("read_idx reads plain label and image files", "[data][idx]") {
  const auto labels = read_idx(data_file("labels-idx1-ubyte"));
  CHECK(labels.shape() == Shape{5});
  CHECK(labels.to_vector() == std::vector<std::uint8_t>{0, 7, 4, 1, 8});
  const auto images = read_idx(data_file("images-idx3-ubyte"));
  CHECK(images.shape() == Shape{5, 3, 4});
  CHECK(images.to_vector() == expected_images(5, 3, 4));
  CHECK(images(2, 1, 3) == static_cast<std::uint8_t>((2 * 37 + 7 * 11) % 256));
}

TEST_CASE("read_idx reads gzip files, recognised by content rather than name", "[data][idx][gzip]") {
#if NABLA_HAS_ZLIB
  CHECK(read_idx(data_file("images-idx3-ubyte.gz")).to_vector() == expected_images(5, 3, 4));
  CHECK(read_idx(data_file("images-idx3-ubyte.gz")).shape() == Shape{5, 3, 4});
  CHECK(read_idx(data_file("labels-idx1-ubyte.gz")).to_vector() == std::vector<std::uint8_t>{0, 7, 4, 1, 8});
  CHECK(read_idx(data_file("labels-gzip-without-extension")).to_vector() == std::vector<std::uint8_t>{0, 7, 4, 1, 8});
  // Two gzip members one after the other, as `cat a.gz b.gz` makes.
  CHECK(read_idx(data_file("concatenated.gz")).to_vector() == expected_images(5, 3, 4));
#else
  CHECK_THROWS_WITH(read_idx(data_file("images-idx3-ubyte.gz")), Catch::Contains("no zlib support"));
#endif
  CHECK(read_idx(data_file("labels-plain-named.gz")).to_vector() == std::vector<std::uint8_t>{0, 7, 4, 1, 8});
}

TEST_CASE("read_idx handles zero extents, higher ranks and streams", "[data][idx]") {
  const auto empty = read_idx(data_file("empty-dims-idx2-ubyte"));
  CHECK(empty.shape() == Shape{0, 7});
  CHECK(empty.numel() == 0);
  const auto rank4 = read_idx(data_file("rank4-idx4-ubyte"));
  CHECK(rank4.shape() == Shape{2, 1, 2, 3});
  CHECK(rank4(1, 0, 1, 2) == 11);
  std::istringstream in(read_bytes(data_file("labels-idx1-ubyte")));
  CHECK(read_idx(in, "memory").to_vector() == std::vector<std::uint8_t>{0, 7, 4, 1, 8});
}

TEST_CASE("read_idx reports every malformed file with path, problem and offset", "[data][idx][errors]") {
  struct Case {
    const char* file;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"broken/empty", "truncated header: 0 bytes where the 4-byte magic number belongs (offset 0)"},
      {"broken/truncated-magic", "truncated header: 3 bytes where the 4-byte magic number belongs (offset 0)"},
      {"broken/bad-magic",
       "bad magic number 0x01020801 (offset 0): not an IDX file (expected 0x0000TTRR: type byte, rank byte)"},
      {"broken/float-type", "element type 0x0d (float32) is not supported; nabla reads uint8 (0x08) (offset 2)"},
      {"broken/unknown-type", "unknown element type byte 0x42 (offset 2)"},
      {"broken/rank0", "rank 0 is not supported (1 to 8) (offset 3)"},
      {"broken/truncated-header", "truncated header: 3 dimensions need 12 bytes at offset 4 but only 6 remain"},
      {"broken/truncated-data", "header claims 60 bytes of data (dims [5, 3, 4]) but only 24 remain (offset 16)"},
      {"broken/lying-dims",
       "header claims 47040000 bytes of data (dims [60000, 28, 28]) but only 1000 remain (offset 16)"},
      {"broken/overflow-dims",
       "dims [4294967295, 4294967295, 4294967295] overflow: their product does not fit in 64 bits (offset 4)"},
      {"broken/trailing-garbage", "trailing data: 3 bytes after the 60 bytes of data the header claims (offset 76)"},
#if NABLA_HAS_ZLIB
      {"broken/truncated-data.gz",
       "header claims 60 bytes of data (dims [5, 3, 4]) but the decompressed stream ends after 24 (offset 40 of the "
       "decompressed data)"},
      {"broken/truncated-stream.gz", "the gzip stream ends early: the compressed data is truncated"},
      {"broken/lying-dims.gz",
       "header claims 47040000 bytes of data (dims [60000, 28, 28]) but a gzip file of 41 bytes cannot hold more than "
       "46124 (offset 16 of the decompressed data)"},
      {"broken/trailing-data.gz",
       "trailing data after the 60 bytes of data the header claims (offset 76 of the decompressed data)"},
      {"broken/trailing-after-stream.gz", "trailing garbage after the gzip stream (compressed offset 95)"},
      {"broken/corrupt.gz", "the gzip data is corrupt: "},
#endif
  };
  for (const Case& c : cases) {
    INFO(c.file);
    const std::string path = data_file(c.file);
    CHECK_THROWS_AS(read_idx(path), IOError);
    CHECK_THROWS_WITH(read_idx(path), Catch::StartsWith("read_idx: " + path + ": ") && Catch::Contains(c.message));
  }
}

TEST_CASE("read_idx refuses a lying header before allocating", "[data][idx][errors]") {
  for (const char* file : {"broken/lying-dims", "broken/overflow-dims", "broken/truncated-data"
#if NABLA_HAS_ZLIB
                           ,
                           "broken/lying-dims.gz"
#endif
       }) {
    INFO(file);
    const std::uint64_t before = allocator_requests();
    CHECK_THROWS_AS(read_idx(data_file(file)), IOError);
    CHECK(allocator_requests() == before);
  }
}

TEST_CASE("read_idx reports missing files and folders", "[data][idx][errors]") {
  TempDir dir;
  CHECK_THROWS_WITH(read_idx(dir.file("nope")), "read_idx: cannot open " + dir.file("nope") + ": No such file or directory");
  CHECK_THROWS_WITH(read_idx(dir.path().string()), "read_idx: " + dir.path().string() + ": is a directory, not a file");
}

TEST_CASE("every truncation of a plain or gzip IDX file is refused, never a crash", "[data][idx][errors]") {
  TempDir dir;
  const std::string path = dir.file("cut");
  for (const char* file : {"images-idx3-ubyte", "images-idx3-ubyte.gz"}) {
    const std::string good = read_bytes(data_file(file));
    for (std::size_t n = 0; n < good.size(); ++n) {
      INFO(file << ", first " << n << " bytes");
      write_bytes(path, good.substr(0, n));
      CHECK_THROWS_AS(read_idx(path), IOError);
    }
  }
}

TEST_CASE("randomly corrupted IDX files load or throw IOError, never crash", "[data][idx][errors]") {
  nabla::Generator gen(5);
  for (const char* file : {"images-idx3-ubyte", "images-idx3-ubyte.gz", "concatenated.gz"}) {
    const std::string good = read_bytes(data_file(file));
    int refused = 0;
    for (int round = 0; round < 1000; ++round) {
      std::string bytes = good;
      const int flips = 1 + static_cast<int>(gen.below(3));
      for (int k = 0; k < flips; ++k) bytes[gen.below(bytes.size())] = static_cast<char>(gen.below(256));
      if (gen.below(5) == 0) bytes.resize(gen.below(bytes.size() + 1));
      std::istringstream in(bytes);
      try {
        const auto t = read_idx(in, "fuzz");
        CHECK(static_cast<std::uint64_t>(t.numel()) <= 64 * bytes.size() + 4096);
      } catch (const IOError&) {
        ++refused;
      }
    }
    INFO(file);
    CHECK(refused > 100);
  }
}

TEST_CASE("fuzz regression: a zero extent beside huge ones neither overflows nor crashes", "[data][idx][fuzz]") {
  // Found by scripts/fuzz.sh: dims [30018, 33619968, 0, ...] overflowed int64
  // while counting elements (undefined behaviour) before the fix.
  for (const char* file : {"broken/fuzz-rank4-overflowing-dims", "broken/fuzz-zero-extent-huge-strides"}) {
    INFO(file);
    try {
      const auto t = nabla::data::read_idx(data_file(file));
      CHECK(t.numel() == 0);
    } catch (const nabla::IOError& e) {
      CHECK_THAT(e.what(), Catch::Contains("read_idx"));
    }
  }
}

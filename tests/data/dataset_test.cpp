// ImageDataset and load_mnist: the four MNIST files of a folder, plain or gzip.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "../io/temp_files.hpp"
#include "nabla/data/dataset.hpp"

using nabla::IOError;
using nabla::Shape;
using nabla::Tensor;
using nabla::data::ImageDataset;
using nabla::data::load_mnist;
using nabla::data::Split;
using nabla::io_test::TempDir;

namespace {
std::string data_dir(const std::string& name) { return std::string(NABLA_TEST_FIXTURE_DIR) + "/data/" + name; }
}  // namespace

TEST_CASE("load_mnist reads the train and test splits of a folder", "[data][dataset]") {
#if NABLA_HAS_ZLIB
  const ImageDataset train = load_mnist(data_dir("mnist"), Split::train);
  CHECK(train.size() == 10);
  CHECK(train.rows() == 4);
  CHECK(train.cols() == 3);
  CHECK(train.images().shape() == Shape{10, 4, 3});
  CHECK(train.labels().to_vector() == std::vector<std::int64_t>{0, 7, 4, 1, 8, 5, 2, 9, 6, 3});
  CHECK(train.num_classes() == 10);
  CHECK(train.images()(9, 3, 2) == static_cast<std::uint8_t>((9 * 37 + 11 * 11) % 256));

  const ImageDataset test = load_mnist(data_dir("mnist"), Split::test);
  CHECK(test.size() == 4);
  CHECK(test.labels().to_vector() == std::vector<std::int64_t>{3, 0, 7, 4});
  CHECK(test.images()(0, 0, 0) == 5);

  const ImageDataset few = load_mnist(data_dir("mnist"), Split::train, 3);
  CHECK(few.size() == 3);
  CHECK(few.labels().to_vector() == std::vector<std::int64_t>{0, 7, 4});
  CHECK(few.images().shape() == Shape{3, 4, 3});
  CHECK(load_mnist(data_dir("mnist"), Split::train, 1000).size() == 10);
#else
  CHECK_THROWS_WITH(load_mnist(data_dir("mnist"), Split::train), Catch::Contains("no zlib support"));
#endif
}

TEST_CASE("load_mnist names both files when image and label counts differ", "[data][dataset][errors]") {
  const std::string dir = data_dir("mismatch");
  CHECK_THROWS_AS(load_mnist(dir, Split::train), IOError);
  const std::string images = (std::filesystem::path(dir) / "train-images-idx3-ubyte").string();
  const std::string labels = (std::filesystem::path(dir) / "train-labels-idx1-ubyte").string();
  CHECK_THROWS_WITH(load_mnist(dir, Split::train),
                    "load_mnist: " + images + " holds 10 images but " + labels + " holds 9 labels");
}

TEST_CASE("load_mnist reports missing folders and files", "[data][dataset][errors]") {
  CHECK_THROWS_WITH(load_mnist(data_dir("no-such-folder"), Split::train),
                    "load_mnist: the data folder " + data_dir("no-such-folder") + " does not exist or is not a folder");
  CHECK_THROWS_WITH(load_mnist(data_dir("incomplete"), Split::train),
                    "load_mnist: " + data_dir("incomplete") +
                        " has neither train-labels-idx1-ubyte nor train-labels-idx1-ubyte.gz");
  CHECK_THROWS_WITH(load_mnist(data_dir("incomplete"), Split::test),
                    Catch::Contains("has neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz"));
}

TEST_CASE("load_mnist checks the ranks of the files", "[data][dataset][errors]") {
  TempDir dir;
  const std::string root = std::string(NABLA_TEST_FIXTURE_DIR) + "/data/";
  std::filesystem::copy_file(root + "labels-idx1-ubyte", dir.file("train-images-idx3-ubyte"));
  std::filesystem::copy_file(root + "labels-idx1-ubyte", dir.file("train-labels-idx1-ubyte"));
  CHECK_THROWS_WITH(load_mnist(dir.path().string(), Split::train),
                    "load_mnist: " + dir.file("train-images-idx3-ubyte") +
                        ": expected images of rank 3 [N, rows, cols], got dims [5]");
  std::filesystem::remove(dir.file("train-images-idx3-ubyte"));
  std::filesystem::copy_file(root + "images-idx3-ubyte", dir.file("train-images-idx3-ubyte"));
  std::filesystem::remove(dir.file("train-labels-idx1-ubyte"));
  std::filesystem::copy_file(root + "images-idx3-ubyte", dir.file("train-labels-idx1-ubyte"));
  CHECK_THROWS_WITH(load_mnist(dir.path().string(), Split::train),
                    Catch::Contains("expected labels of rank 1 [N], got dims [5, 3, 4]"));
}

TEST_CASE("ImageDataset checks its tensors and makes subsets", "[data][dataset]") {
  const Tensor<std::uint8_t> images(Shape{4, 2, 2}, std::vector<std::uint8_t>(16, 3));
  const ImageDataset ds(images, Tensor<std::int64_t>(Shape{4}, {2, 0, 1, 2}));
  CHECK(ds.num_classes() == 3);
  const ImageDataset mid = ds.subset(1, 3);
  CHECK(mid.size() == 2);
  CHECK(mid.labels().to_vector() == std::vector<std::int64_t>{0, 1});
  CHECK(ds.take(0).empty());
  CHECK_THROWS_WITH(ds.subset(2, 5), "ImageDataset::subset: [2, 5) is outside [0, 4)");
  CHECK_THROWS_WITH(ds.take(-1), "ImageDataset::take: count must be non-negative, got -1");
  CHECK_THROWS_WITH(ImageDataset(Tensor<std::uint8_t>(Shape{4, 4}), Tensor<std::int64_t>(Shape{4})),
                    "ImageDataset: images must be [N, rows, cols], got [4, 4]");
  CHECK_THROWS_WITH(ImageDataset(images, Tensor<std::int64_t>(Shape{3})),
                    "ImageDataset: 4 images need labels of shape [4], got [3]");
  CHECK_THROWS_WITH(ImageDataset(images, Tensor<std::int64_t>(Shape{4}, {0, 1, -1, 0})),
                    "ImageDataset: label -1 of sample 2 is negative");
}

TEST_CASE("Fashion-MNIST from /usr/share/datasets loads when present", "[data][dataset][real]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    SUCCEED("skipped: " << dir << " is not on this machine (Debian package dataset-fashion-mnist)");
    return;
  }
#if !NABLA_HAS_ZLIB
  SUCCEED("skipped: the Debian files are gzip-compressed and this build has no zlib");
  return;
#endif
  const ImageDataset train = load_mnist(dir, Split::train);
  const ImageDataset test = load_mnist(dir, Split::test);
  CHECK(train.images().shape() == Shape{60000, 28, 28});
  CHECK(test.images().shape() == Shape{10000, 28, 28});
  CHECK(train.num_classes() == 10);
  // Fashion-MNIST is balanced: 6,000 training and 1,000 test images a class.
  std::array<std::int64_t, 10> train_counts{}, test_counts{};
  for (std::int64_t l : train.labels().to_vector()) ++train_counts[static_cast<std::size_t>(l)];
  for (std::int64_t l : test.labels().to_vector()) ++test_counts[static_cast<std::size_t>(l)];
  for (std::size_t c = 0; c < 10; ++c) {
    CHECK(train_counts[c] == 6000);
    CHECK(test_counts[c] == 1000);
  }
  // Images use the whole 0..255 range, with a dark background.
  const auto pixels = test.images().to_vector();
  std::int64_t zeros = 0, full = 0;
  for (std::uint8_t p : pixels) {
    zeros += p == 0;
    full += p == 255;
  }
  CHECK(zeros > static_cast<std::int64_t>(pixels.size() / 4));
  CHECK(full > 0);
}

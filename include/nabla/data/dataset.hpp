// ImageDataset (uint8 images with int64 labels) and load_mnist, which reads
// the four MNIST / Fashion-MNIST IDX files of a folder.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/data/idx.hpp"

namespace nabla::data {

// Grey-scale images [N, rows, cols] (uint8, 0..255) and their class labels
// [N] (int64). Cheap to copy: both are shared tensor handles.
class ImageDataset {
 public:
  ImageDataset() = default;
  ImageDataset(Tensor<std::uint8_t> images, Tensor<std::int64_t> labels)
      : images_(std::move(images).contiguous()), labels_(std::move(labels).contiguous()) {
    if (images_.ndim() != 3) {
      throw ShapeError(detail::message("ImageDataset: images must be [N, rows, cols], got ",
                                       to_string(images_.shape())));
    }
    if (labels_.ndim() != 1 || labels_.numel() != images_.size(0)) {
      throw ShapeError(detail::message("ImageDataset: ", images_.size(0), " images need labels of shape [",
                                       images_.size(0), "], got ", to_string(labels_.shape())));
    }
    const std::int64_t* l = labels_.data();
    for (std::int64_t i = 0; i < labels_.numel(); ++i) {
      if (l[i] < 0) throw ValueError(detail::message("ImageDataset: label ", l[i], " of sample ", i, " is negative"));
      num_classes_ = std::max(num_classes_, l[i] + 1);
    }
  }

  std::int64_t size() const noexcept { return labels_.defined() ? labels_.numel() : 0; }
  bool empty() const noexcept { return size() == 0; }
  std::int64_t rows() const noexcept { return images_.defined() ? images_.shape()[1] : 0; }
  std::int64_t cols() const noexcept { return images_.defined() ? images_.shape()[2] : 0; }
  // 1 + the largest label (10 for MNIST).
  std::int64_t num_classes() const noexcept { return num_classes_; }
  const Tensor<std::uint8_t>& images() const noexcept { return images_; }
  const Tensor<std::int64_t>& labels() const noexcept { return labels_; }

  // Samples [begin, end) as a dataset sharing this one's storage.
  ImageDataset subset(std::int64_t begin, std::int64_t end) const {
    if (begin < 0 || end < begin || end > size()) {
      throw IndexError(detail::message("ImageDataset::subset: [", begin, ", ", end, ") is outside [0, ", size(), ")"));
    }
    return ImageDataset(images_.slice(0, begin, end), labels_.slice(0, begin, end));
  }
  // The first min(n, size()) samples.
  ImageDataset take(std::int64_t n) const {
    if (n < 0) throw ValueError(detail::message("ImageDataset::take: count must be non-negative, got ", n));
    return subset(0, std::min(n, size()));
  }

 private:
  Tensor<std::uint8_t> images_;
  Tensor<std::int64_t> labels_;
  std::int64_t num_classes_ = 0;
};

using MnistDataset = ImageDataset;

enum class Split { train, test };

namespace detail {

// `dir/base` or `dir/base.gz`, preferring the uncompressed file.
inline std::string find_idx_file(const std::string& dir, const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const std::string& candidate : {base, base + ".gz"}) {
    const fs::path p = fs::path(dir) / candidate;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw IOError(message("load_mnist: ", dir, " has neither ", base, " nor ", base, ".gz"));
}

}  // namespace detail

// Reads the images and labels of `split` from `dir`, which holds the MNIST
// file names: train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or with .gz.
// `limit` >= 0 keeps only the first `limit` samples. Errors (IOError) name
// the folder or file and the problem, e.g. image and label counts that
// differ.
inline ImageDataset load_mnist(const std::string& dir, Split split, std::int64_t limit = -1) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw IOError(detail::message("load_mnist: the data folder ", dir, " does not exist or is not a folder"));
  }
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = detail::find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = detail::find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  Tensor<std::uint8_t> images = read_idx(images_path);
  Tensor<std::uint8_t> labels = read_idx(labels_path);
  if (images.ndim() != 3) {
    throw IOError(detail::message("load_mnist: ", images_path, ": expected images of rank 3 [N, rows, cols], got dims ",
                                  to_string(images.shape())));
  }
  if (labels.ndim() != 1) {
    throw IOError(detail::message("load_mnist: ", labels_path, ": expected labels of rank 1 [N], got dims ",
                                  to_string(labels.shape())));
  }
  if (images.size(0) != labels.size(0)) {
    throw IOError(detail::message("load_mnist: ", images_path, " holds ", images.size(0), " images but ", labels_path,
                                  " holds ", labels.size(0), " labels"));
  }
  ImageDataset dataset(std::move(images), labels.to<std::int64_t>());
  if (limit < 0 || limit >= dataset.size()) return dataset;
  // Copy the kept samples so the rest of the file's data is freed.
  const ImageDataset kept = dataset.take(limit);
  return ImageDataset(kept.images().clone(), kept.labels().clone());
}

}  // namespace nabla::data

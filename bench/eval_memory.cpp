// Peak RSS of evaluating the MNIST CNN in eval() mode N times, results
// dropped, with and without a NoGradGuard (issue 17: memory must stay flat
// without the guard). Each mode runs in a child process of its own, so each
// peak (VmHWM) is that mode's alone.
//
//   nabla_eval_memory [--forwards N] [--batch B]     (defaults 500 and 64)
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "nabla/autograd.hpp"
#include "nabla/nn.hpp"

namespace {

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Runs the forwards and returns the peak RSS in KiB.
long run(bool guarded, int forwards, std::int64_t batch) {
  namespace nn = nabla::nn;
  nabla::Generator gen(3);
  nn::Sequential<float> net(nn::Conv2d<float>(nn::Conv2dOptions(1, 32, 5).padding(2), gen), nn::ReLU<float>(),
                            nn::MaxPool2d<float>(2), nn::Conv2d<float>(nn::Conv2dOptions(32, 64, 5).padding(2), gen),
                            nn::ReLU<float>(), nn::MaxPool2d<float>(2), nn::Flatten<float>(),
                            nn::Linear<float>(3136, 128, true, gen), nn::ReLU<float>(),
                            nn::Linear<float>(128, 10, true, gen));
  net.eval();
  const nabla::Var<float> x(nabla::rand<float>(nabla::Shape{batch, 1, 28, 28}, gen), false);
  float checksum = 0;
  for (int i = 0; i < forwards; ++i) {
    if (guarded) {
      nabla::NoGradGuard no_grad;
      checksum += net(x).value().at({0, 0});
    } else {
      checksum += net(x).value().at({0, 0});
    }
  }
  if (checksum != checksum) std::printf("(checksum is NaN)\n");
  return peak_rss_kib();
}

}  // namespace

int main(int argc, char** argv) {
  int forwards = 500;
  std::int64_t batch = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--forwards") == 0) forwards = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--batch") == 0) batch = std::atoll(argv[i + 1]);
  }
  long peak[2] = {0, 0};
  for (int guarded = 1; guarded >= 0; --guarded) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      const long kib = run(guarded == 1, forwards, batch);
      if (write(fds[1], &kib, sizeof kib) != sizeof kib) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &peak[guarded], sizeof(long)) != sizeof(long)) return 1;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  std::printf("MNIST CNN, eval(), %d forwards at batch %lld, results dropped: peak RSS %.1f MiB with NoGradGuard, "
              "%.1f MiB without (%.2fx)\n",
              forwards, static_cast<long long>(batch), peak[1] / 1024.0, peak[0] / 1024.0,
              static_cast<double>(peak[0]) / static_cast<double>(peak[1]));
  return 0;
}

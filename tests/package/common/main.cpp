// The program every consumer project builds: uses nabla's public API through
// the umbrella header only.
#include <nabla/nabla.hpp>

#include <cstdio>

#ifndef NABLA_CONSUMER
#error "NABLA_CONSUMER must name the way this consumer found nabla"
#endif

int main() {
  // TODO(lead): train a tiny model (e.g. a 2-layer MLP on XOR with SGD) and
  // return non-zero unless the loss drops.
  std::printf("%s consumer: nabla %s\n", NABLA_CONSUMER, nabla::version_string);
  return nabla::version_major == NABLA_VERSION_MAJOR ? 0 : 1;
}

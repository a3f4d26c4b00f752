// Files in one include: safetensors reading/writing, module weights and
// checkpoints, atomic writes.
#pragma once

#include "nabla/io/atomic_file.hpp"
#include "nabla/io/safetensors.hpp"
#include "nabla/io/serialize.hpp"

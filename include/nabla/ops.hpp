// Tensor operations without recording: elementwise math with broadcasting,
// reductions, matmul, shape ops and neural-network ops on Tensor<T>.
#pragma once

#include "nabla/core.hpp"
#include "nabla/kernels/parallel.hpp"
#include "nabla/ops/compare.hpp"
#include "nabla/ops/einsum.hpp"
#include "nabla/ops/elementwise.hpp"
#include "nabla/ops/index.hpp"
#include "nabla/ops/indexing.hpp"
#include "nabla/ops/linalg.hpp"
#include "nabla/ops/nn.hpp"
#include "nabla/ops/reduce.hpp"
#include "nabla/ops/shape.hpp"
#include "nabla/ops/sort.hpp"

// The tensor core in one include: Shape, Tensor<T>, storage, factories,
// random generators and printing (no Eigen, no xsimd).
#pragma once

#include "nabla/core/creation.hpp"
#include "nabla/core/dtype.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/print.hpp"
#include "nabla/core/random.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/storage.hpp"
#include "nabla/core/tensor.hpp"

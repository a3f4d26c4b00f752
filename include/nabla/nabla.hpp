// The whole of nabla in one include: tensors, ops, autograd, modules,
// optimizers, data loading and weight files. Lighter topic headers:
// nabla/core.hpp (tensors only), nabla/ops.hpp, nabla/autograd.hpp,
// nabla/nn.hpp, nabla/optim.hpp, nabla/data.hpp, nabla/io.hpp.
#pragma once

#include "nabla/autograd.hpp"
#include "nabla/config.hpp"
#include "nabla/core.hpp"
#include "nabla/core/eigen_interop.hpp"
#include "nabla/data.hpp"
#include "nabla/io.hpp"
#include "nabla/nn.hpp"
#include "nabla/ops.hpp"
#include "nabla/optim.hpp"
#include "nabla/version.hpp"

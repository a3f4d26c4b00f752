// Automatic differentiation in one include: Var<T>, the tape, every
// differentiable op, losses, custom functions and gradcheck.
#pragma once

#include "nabla/autograd/anomaly.hpp"
#include "nabla/autograd/function.hpp"
#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/gradcheck.hpp"
#include "nabla/autograd/op_kind.hpp"
#include "nabla/autograd/rules/compare.hpp"
#include "nabla/autograd/rules/einsum.hpp"
#include "nabla/autograd/rules/elementwise.hpp"
#include "nabla/autograd/rules/index.hpp"
#include "nabla/autograd/rules/indexing.hpp"
#include "nabla/autograd/rules/linalg.hpp"
#include "nabla/autograd/rules/loss.hpp"
#include "nabla/autograd/rules/nn.hpp"
#include "nabla/autograd/rules/reduce.hpp"
#include "nabla/autograd/rules/shape.hpp"
#include "nabla/autograd/rules/sort.hpp"
#include "nabla/autograd/tape.hpp"
#include "nabla/autograd/var.hpp"

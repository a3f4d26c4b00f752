// Neural-network modules, their functional twins, initialisation and losses
// in one include.
#pragma once

#include "nabla/nn/activation.hpp"
#include "nabla/nn/batchnorm.hpp"
#include "nabla/nn/conv.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/init.hpp"
#include "nabla/nn/linear.hpp"
#include "nabla/nn/loss.hpp"
#include "nabla/nn/misc.hpp"
#include "nabla/nn/module.hpp"
#include "nabla/nn/pooling.hpp"
#include "nabla/nn/sequential.hpp"

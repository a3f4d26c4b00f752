// Optimizers, learning-rate schedules and gradient clipping in one include.
#pragma once

#include "nabla/optim/adam.hpp"
#include "nabla/optim/optimizer.hpp"
#include "nabla/optim/rmsprop.hpp"
#include "nabla/optim/schedule.hpp"
#include "nabla/optim/sgd.hpp"

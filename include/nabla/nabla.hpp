// The whole of nabla in one include.
#pragma once

#include "nabla/config.hpp"
#include "nabla/core.hpp"
#include "nabla/core/eigen_interop.hpp"
#include "nabla/version.hpp"

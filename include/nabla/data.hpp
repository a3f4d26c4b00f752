// Data in one include: IDX files (plain or gzip), image datasets (MNIST), and
// the shuffling batch loader.
#pragma once

#include "nabla/data/dataset.hpp"
#include "nabla/data/idx.hpp"
#include "nabla/data/loader.hpp"

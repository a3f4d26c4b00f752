// Forward declarations of nabla's main types, for headers that only name them.
#pragma once

namespace nabla {
class Shape;
class Storage;
class Generator;
class Error;
template <class T>
class Tensor;
template <class T>
class Var;
template <class T>
class Tape;
class NoGradGuard;
}  // namespace nabla

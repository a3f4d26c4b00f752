// ONNX import and export: nabla::onnx::load / load_from_bytes and
// nabla::onnx::save / to_bytes. Needs the CMake target nabla::onnx (ONNX and
// protobuf); <nabla/nabla.hpp> does not include this header.
#pragma once

#include "nabla/onnx/load.hpp"
#include "nabla/onnx/save.hpp"

// The graph runtime in one include: the IR (graph::Graph), its values and
// the executor graph::Session<T>, and graph::trace of nn modules. It needs no
// ONNX (that is <nabla/onnx.hpp>).
#pragma once

#include "nabla/graph/graph.hpp"
#include "nabla/graph/kernel.hpp"
#include "nabla/graph/passes.hpp"
#include "nabla/graph/registry.hpp"
#include "nabla/graph/session.hpp"
#include "nabla/graph/trace.hpp"
#include "nabla/graph/value.hpp"

// OpKind: one tag per differentiable op, so tapes can be printed and every
// op's coverage by tests can be checked.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace nabla {

#define NABLA_OP_KINDS(X)                                                                                      \
  X(add) X(sub) X(mul) X(div) X(neg) X(pow) X(pow_scalar) X(rpow_scalar) X(maximum) X(minimum) X(where)       \
  X(exp) X(log) X(log1p) X(expm1) X(sqrt) X(rsqrt) X(abs) X(square) X(reciprocal) X(sin) X(cos) X(tanh)       \
  X(sigmoid) X(relu) X(leaky_relu) X(gelu) X(silu) X(softplus) X(elu) X(clamp)                                \
  X(sum) X(mean) X(max) X(min) X(var) X(logsumexp)                                                            \
  X(matmul) X(linear)                                                                                          \
  X(reshape) X(permute) X(slice) X(select) X(expand) X(concat) X(stack) X(pad) X(contiguous)                  \
  X(softmax) X(log_softmax) X(conv2d) X(max_pool2d) X(avg_pool2d) X(adaptive_avg_pool2d) X(dropout)           \
  X(batch_norm) X(cross_entropy) X(nll_loss) X(mse_loss) X(l1_loss) X(bce_with_logits)                      \
  X(clamp_min) X(clamp_max) X(cumsum) X(cumprod) X(trace) X(gather) X(scatter_add) X(index_select)             \
  X(index_add) X(flip) X(roll) X(tril) X(triu) X(diag) X(prod) X(sort) X(topk) X(repeat) X(norm)        \
  X(bmm) X(einsum) X(masked_fill) X(masked_select) X(index) X(custom)

enum class OpKind : std::uint8_t {
#define NABLA_OP_KIND_ENUM(name) name,
  NABLA_OP_KINDS(NABLA_OP_KIND_ENUM)
#undef NABLA_OP_KIND_ENUM
};

// Every kind, in declaration order.
inline constexpr std::array all_op_kinds = {
#define NABLA_OP_KIND_LIST(name) OpKind::name,
    NABLA_OP_KINDS(NABLA_OP_KIND_LIST)
#undef NABLA_OP_KIND_LIST
};

inline constexpr std::string_view op_name(OpKind kind) noexcept {
  switch (kind) {
#define NABLA_OP_KIND_NAME(name) \
  case OpKind::name:             \
    return #name;
    NABLA_OP_KINDS(NABLA_OP_KIND_NAME)
#undef NABLA_OP_KIND_NAME
  }
  return "unknown";
}

}  // namespace nabla

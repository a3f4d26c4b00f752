// Type promotion of mixed-type arithmetic, as torch.result_type: the element
// type of `a + b`, `a * s`, `a / b` when the operands' types differ.
#pragma once

#include <cstdint>
#include <type_traits>

namespace nabla {
namespace detail {

// The smallest signed integer type of at least `Bytes` bytes (int64 at most).
template <std::size_t Bytes>
using signed_of_size = std::conditional_t<
    Bytes <= 1, std::int8_t,
    std::conditional_t<Bytes <= 2, std::int16_t, std::conditional_t<Bytes <= 4, std::int32_t, std::int64_t>>>;

template <class A, class B>
struct promote_types {
  static_assert(std::is_arithmetic_v<A> && std::is_arithmetic_v<B>);
  // bool is the lowest category: any other type wins (bool + int8 is int8).
  using type = std::conditional_t<std::is_same_v<A, bool>, B, std::conditional_t<std::is_same_v<B, bool>, A,
      std::conditional_t<
      std::is_floating_point_v<A> || std::is_floating_point_v<B>,
      // Floating wins over integer; between two floating types the wider one.
      std::conditional_t<std::is_floating_point_v<A> && std::is_floating_point_v<B>,
                         std::conditional_t<(sizeof(A) >= sizeof(B)), A, B>,
                         std::conditional_t<std::is_floating_point_v<A>, A, B>>,
      // Two integers: the wider one when the signedness agrees; a signed type
      // that holds both when it does not (uint8 + int8 is int16).
      std::conditional_t<std::is_signed_v<A> == std::is_signed_v<B>, std::conditional_t<(sizeof(A) >= sizeof(B)), A, B>,
                         std::conditional_t<std::is_signed_v<A>,
                                            std::conditional_t<(sizeof(A) > sizeof(B)), A, signed_of_size<2 * sizeof(B)>>,
                                            std::conditional_t<(sizeof(B) > sizeof(A)), B, signed_of_size<2 * sizeof(A)>>>>>>>;
};

}  // namespace detail

// The element type of an op between a Tensor<A> and a Tensor<B>
// (torch.promote_types): float + double is double, int64 + float is float,
// int32 + int64 is int64, uint8 + int8 is int16.
template <class A, class B>
using promote_t = typename detail::promote_types<A, B>::type;

// The element type of an op between a Tensor<T> and a C++ scalar of type S.
// As in PyTorch, a scalar changes the result only when it is of a higher
// category: an integer tensor with a floating scalar gives a tensor of the
// default floating type, float (Tensor<int64_t> * 0.5 is Tensor<float>);
// otherwise the tensor's type is kept (Tensor<float> * 0.5 stays float,
// Tensor<uint8_t> + 300 stays uint8, as in PyTorch).
// A bool tensor with an integer scalar is int64, as in PyTorch.
template <class T, class S>
using scalar_result_t = std::conditional_t<
    std::is_integral_v<T> && std::is_floating_point_v<S>, float,
    std::conditional_t<std::is_same_v<T, bool> && std::is_integral_v<S> && !std::is_same_v<S, bool>, std::int64_t, T>>;

// True division (`/`, div) of integers is floating, as in PyTorch: int64 / int64
// is float. floor_divide keeps integers.
template <class T>
using true_divide_t = std::conditional_t<std::is_floating_point_v<T>, T, float>;

}  // namespace nabla

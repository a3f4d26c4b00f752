# nabla_project_options: flags for nabla's own targets only (tests, benchmarks,
# examples). Never exported, never applied to consumers of nabla::nabla.

add_library(nabla_project_options INTERFACE)

# Warnings: -Werror stays; add -Wno-<name> here only with a reason.
target_compile_options(nabla_project_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-Wall -Wextra -Werror>
  $<$<CXX_COMPILER_ID:MSVC>:/W4 /WX /permissive->)

# Full -g about doubles the compile time of the heavier tests; line tables
# (-g1) are enough for sanitizer and crash stack traces. Debug keeps full -g.
target_compile_options(nabla_project_options INTERFACE
  $<$<AND:$<CONFIG:RelWithDebInfo>,$<CXX_COMPILER_ID:GNU,Clang>>:-g1>)

if(NABLA_NATIVE)
  target_link_libraries(nabla_project_options INTERFACE nabla_native)
endif()

# GCC 12 reports the _mm512_undefined_* placeholders inside its own AVX-512
# intrinsics as used uninitialized (GCC PR 105593, a false positive), and
# xsimd and Eigen call those intrinsics whenever the target has AVX-512: the
# build fails under -Werror on such a machine. Only that case drops the two
# warnings; AVX2, portable and Clang builds keep them.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  include(CheckCXXSourceCompiles)
  set(_nabla_saved_required_flags "${CMAKE_REQUIRED_FLAGS}")
  if(NABLA_NATIVE)
    set(CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS} -march=native")
  endif()
  unset(NABLA_TARGET_HAS_AVX512 CACHE)  # the flags may have changed since the last configure
  check_cxx_source_compiles("#ifndef __AVX512F__\n#error no AVX-512\n#endif\nint main() { return 0; }"
    NABLA_TARGET_HAS_AVX512)
  set(CMAKE_REQUIRED_FLAGS "${_nabla_saved_required_flags}")
  unset(_nabla_saved_required_flags)
  if(NABLA_TARGET_HAS_AVX512)
    target_compile_options(nabla_project_options INTERFACE -Wno-uninitialized -Wno-maybe-uninitialized)
  endif()
endif()

if(NABLA_SANITIZE)
  set(_nabla_sanitize_flags
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(nabla_project_options INTERFACE ${_nabla_sanitize_flags})
  target_link_options(nabla_project_options INTERFACE ${_nabla_sanitize_flags})
  # GCC 12's -Wmaybe-uninitialized gives false positives inside libstdc++
  # (<regex>, std::function) once sanitizer instrumentation is on.
  target_compile_options(nabla_project_options INTERFACE
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  unset(_nabla_sanitize_flags)
endif()

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

# No AVX-512 special case here: GCC 12's false positives inside its AVX-512
# intrinsics (PR 105593) are silenced in nabla's own headers
# (nabla/detail/diagnostics.hpp), so users' -Werror builds pass as ours do.

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

# Defines nabla::xsimd, an include-only IMPORTED target for xsimd.
#
# Debian's xsimd 8.1 CMake target links a library named `xtl` that is not
# installed, so nabla uses only xsimd's include path. This file is used by
# nabla's own build and installed next to nablaConfig.cmake, so that an
# installed nabla recreates the same target before loading nablaTargets.cmake.
# Sets nabla_xsimd_FOUND.

set(nabla_xsimd_FOUND TRUE)
if(NOT TARGET nabla::xsimd)
  set(_nabla_xsimd_include "")
  if(NOT TARGET xsimd)
    find_package(xsimd 8 CONFIG QUIET)
  endif()
  if(TARGET xsimd)
    # Reuse whatever xsimd target the parent project (or xsimd's config) made.
    get_target_property(_nabla_xsimd_include xsimd INTERFACE_INCLUDE_DIRECTORIES)
  elseif(xsimd_INCLUDE_DIRS)
    set(_nabla_xsimd_include "${xsimd_INCLUDE_DIRS}")
  endif()
  if(NOT _nabla_xsimd_include)
    find_path(NABLA_XSIMD_INCLUDE_DIR NAMES xsimd/xsimd.hpp)
    if(NABLA_XSIMD_INCLUDE_DIR)
      set(_nabla_xsimd_include "${NABLA_XSIMD_INCLUDE_DIR}")
    endif()
  endif()
  if(_nabla_xsimd_include)
    add_library(nabla::xsimd INTERFACE IMPORTED)
    set_target_properties(nabla::xsimd PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${_nabla_xsimd_include}")
  else()
    set(nabla_xsimd_FOUND FALSE)
  endif()
  unset(_nabla_xsimd_include)
endif()

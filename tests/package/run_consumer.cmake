# Configures, builds and runs one consumer project (cmake -P script).
# Inputs: MODE (find_package | add_subdirectory | fetchcontent), NABLA_SOURCE_DIR,
# NABLA_EXPECTED_VERSION, CONSUMER_SOURCE_DIR, WORK_DIR, GENERATOR, MAKE_PROGRAM,
# CXX_COMPILER, BUILD_TYPE; optional CONSUMER_CXX_FLAGS (the consumer's
# CMAKE_CXX_FLAGS), CONSUMER_NATIVE (link nabla::native, default ON) and
# RUN_CONSUMER (run the built programs, default ON).
cmake_minimum_required(VERSION 3.21)

foreach(_var MODE NABLA_SOURCE_DIR NABLA_EXPECTED_VERSION CONSUMER_SOURCE_DIR WORK_DIR
             GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()
if(NOT DEFINED CONSUMER_NATIVE OR CONSUMER_NATIVE STREQUAL "")
  set(CONSUMER_NATIVE ON)
endif()
if(NOT DEFINED RUN_CONSUMER OR RUN_CONSUMER STREQUAL "")
  set(RUN_CONSUMER ON)
endif()

function(nabla_run _step)
  message(STATUS "[${MODE}] ${_step}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${_step} failed (${_rc})")
  endif()
endfunction()

set(_common_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
if(MAKE_PROGRAM)
  list(APPEND _common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_consumer_args "-DNABLA_EXPECTED_VERSION=${NABLA_EXPECTED_VERSION}"
  "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}" "-DCONSUMER_NATIVE=${CONSUMER_NATIVE}")

if(MODE STREQUAL "find_package")
  # Install the current tree (no tests) into a private prefix first.
  set(_prefix "${WORK_DIR}/prefix")
  nabla_run("configure nabla" "${CMAKE_COMMAND}" -S "${NABLA_SOURCE_DIR}"
    -B "${WORK_DIR}/nabla-build" ${_common_args}
    "-DCMAKE_INSTALL_PREFIX=${_prefix}"
    -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_BENCHMARKS=OFF -DNABLA_BUILD_EXAMPLES=OFF)
  nabla_run("build nabla" "${CMAKE_COMMAND}" --build "${WORK_DIR}/nabla-build")
  nabla_run("install nabla" "${CMAKE_COMMAND}" --install "${WORK_DIR}/nabla-build")
  list(APPEND _consumer_args "-DCMAKE_PREFIX_PATH=${_prefix}" "-DNABLA_EXPECTED_PREFIX=${_prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "add_subdirectory" OR MODE STREQUAL "fetchcontent")
  list(APPEND _consumer_args "-DNABLA_SOURCE_DIR=${NABLA_SOURCE_DIR}")
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

nabla_run("configure consumer" "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}"
  -B "${WORK_DIR}/consumer-build" ${_common_args} ${_consumer_args})
nabla_run("build consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer-build")
if(RUN_CONSUMER)
  nabla_run("run consumer" "${WORK_DIR}/consumer-build/consumer")
  if(EXISTS "${WORK_DIR}/consumer-build/consumer_onnx")
    nabla_run("run onnx consumer" "${WORK_DIR}/consumer-build/consumer_onnx")
  endif()
else()
  message(STATUS "[${MODE}] built only (RUN_CONSUMER=OFF)")
endif()

if(MODE STREQUAL "find_package")
  # The installed nabla.pc must be enough to compile and link the same program.
  find_program(_pkg_config NAMES pkg-config pkgconf)
  if(_pkg_config)
    set(ENV{PKG_CONFIG_PATH} "${_prefix}/share/pkgconfig")
    execute_process(COMMAND "${_pkg_config}" --cflags --libs nabla
      OUTPUT_VARIABLE _pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "[${MODE}] pkg-config --cflags --libs nabla failed")
    endif()
    if(NOT _pc_flags MATCHES "-I${_prefix}/include")
      message(FATAL_ERROR "[${MODE}] nabla.pc does not point at the prefix: ${_pc_flags}")
    endif()
    separate_arguments(_pc_flags UNIX_COMMAND "${_pc_flags}")
    separate_arguments(_user_flags UNIX_COMMAND "${CONSUMER_CXX_FLAGS}")
    if(CONSUMER_NATIVE)
      list(APPEND _user_flags -march=native)
    endif()
    # pkg-config gives Eigen as -I, not -isystem: Eigen's own warnings count here.
    nabla_run("compile with pkg-config" "${CXX_COMPILER}" -std=c++20 -Wall -Wextra -Werror ${_user_flags}
      "-DNABLA_CONSUMER=\"pkg-config\"" "${CONSUMER_SOURCE_DIR}/../common/main.cpp"
      -o "${WORK_DIR}/consumer-pkg-config" ${_pc_flags})
    if(RUN_CONSUMER)
      nabla_run("run pkg-config consumer" "${WORK_DIR}/consumer-pkg-config")
    endif()
  else()
    message(STATUS "[${MODE}] pkg-config not found; skipping the nabla.pc check")
  endif()
endif()

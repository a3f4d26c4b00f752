# End-to-end test of the mnist example (run with cmake -P):
#   -DMNIST=<executable> -DDATA=<IDX folder> -DWORK=<scratch folder> -DMIN_ACCURACY=<percent>
#   [-DONNX=1 when the example was built with nabla::onnx]
# 1. trains the MLP on the first 1,000 training images for one epoch (batch 16, seed 1)
#    and requires the last line `test accuracy: NN.NN%` with NN.NN > MIN_ACCURACY,
#    a metrics CSV with one row, a weights file, and (with ONNX) the --export file;
# 2. evaluates the saved weights with --load and requires the same accuracy;
# 3. requires a one-line error and a non-zero exit for a missing data folder
#    and for an unknown flag; without ONNX, --export fails with exit code 2.
foreach(var MNIST DATA WORK MIN_ACCURACY)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "e2e_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED ONNX)
  set(ONNX 0)
endif()
set(export_args "")
if(ONNX)
  set(export_args --export "${WORK}/mlp.onnx")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

function(last_accuracy output result)
  if(NOT output MATCHES "test accuracy: ([0-9]+\\.[0-9][0-9])%\n?$")
    message(FATAL_ERROR "the output does not end with `test accuracy: NN.NN%`:\n${output}")
  endif()
  set(${result} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

# 1. Train.
execute_process(
  COMMAND "${MNIST}" --data "${DATA}" --model mlp --epochs 1 --limit 1000 --batch-size 16 --seed 1 --threads 1
          --save "${WORK}/mlp.safetensors" --metrics "${WORK}/metrics.csv" ${export_args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "training exited with ${rc}: ${err}")
endif()
last_accuracy("${out}" trained)
if(NOT trained GREATER "${MIN_ACCURACY}")
  message(FATAL_ERROR "test accuracy ${trained}% is not above ${MIN_ACCURACY}%: the training loop is broken")
endif()
file(STRINGS "${WORK}/metrics.csv" rows)
list(LENGTH rows n)
list(GET rows 0 header)
if(NOT n EQUAL 2 OR NOT header STREQUAL "epoch,train_loss,train_acc,test_loss,test_acc,seconds")
  message(FATAL_ERROR "metrics.csv should hold the header and one row, got:\n${rows}")
endif()

if(ONNX)
  file(SIZE "${WORK}/mlp.onnx" onnx_bytes)
  # 784*256 + 256*128 + 128*10 weights and biases, 4 bytes each.
  if(NOT out MATCHES "exported the model to [^\n]*mlp.onnx" OR onnx_bytes LESS 940000)
    message(FATAL_ERROR "--export should write mlp.onnx (the MLP has ~940k bytes of weights), got ${onnx_bytes} bytes")
  endif()
endif()

# 2. Reload the weights and evaluate: the same accuracy, to the digit.
execute_process(
  COMMAND "${MNIST}" --data "${DATA}" --load "${WORK}/mlp.safetensors"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "--load exited with ${rc}: ${err}")
endif()
last_accuracy("${out}" reloaded)
if(NOT reloaded STREQUAL trained)
  message(FATAL_ERROR "--load gives ${reloaded}% but training ended at ${trained}%")
endif()

# 3. Bad input: a non-zero exit and one line naming the problem.
function(expect_error expected)
  execute_process(COMMAND "${MNIST}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "\n$" "" err "${err}")
  if(rc EQUAL 0 OR NOT err MATCHES "^mnist: error: [^\n]*${expected}[^\n]*$")
    message(FATAL_ERROR "`mnist ${ARGN}` should fail with one line containing '${expected}'; "
                        "it exited with ${rc} and printed:\n${err}")
  endif()
endfunction()
expect_error("does not exist" --data "${WORK}/no-such-folder")
expect_error("--no-such-flag" --data "${DATA}" --no-such-flag)
expect_error("--model" --data "${DATA}" --model resnet)
if(ONNX)
  expect_error("--export" --data "${DATA}" --export "${WORK}/no-such-folder/mlp.onnx")
endif()

if(NOT ONNX)
  execute_process(COMMAND "${MNIST}" --data "${DATA}" --export "${WORK}/mlp.onnx"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "^mnist: error: --export [^\n]*no ONNX support")
    message(FATAL_ERROR "--export in a build without ONNX should fail with exit code 2; it exited with ${rc}: ${err}")
  endif()
endif()

message("mnist e2e: trained ${trained}%, reloaded ${reloaded}%, errors reported")

# cmake -DPROTOC=... -DPLUGIN=... -DOUT=... -DPROTO=... -DINCLUDES="a;b" -DEXPECT=regex -P this
# Runs protoc with protoc-gen-actr on PROTO and passes when protoc fails with a message matching EXPECT.
file(MAKE_DIRECTORY ${OUT})
set(args)
foreach(dir ${INCLUDES})
  list(APPEND args -I${dir})
endforeach()
execute_process(
  COMMAND ${PROTOC} ${args} --plugin=protoc-gen-actr=${PLUGIN} --actr_out=${OUT} ${PROTO}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "protoc succeeded on ${PROTO}; expected a failure matching '${EXPECT}'")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "protoc failed on ${PROTO}, but its message does not match '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "protoc failed as expected: ${err}")

# Protobuf and actr code generation.
#
# actr_protobuf(target PROTO_ROOT dir PROTOS a.proto ... [IMPORT_DIRS ...])
#   compiles .proto files (paths relative to PROTO_ROOT) into a static library `target`.
#
# actr_generate(target PROTO_ROOT dir PROTOS a.proto ... [IMPORT_DIRS ...])
#   like actr_protobuf, and also runs protoc-gen-actr: for each service a handler base,
#   a dispatcher, RpcTraits and a typed client (`<name>.actr.hpp`). Link `target` to use them.
function(_actr_protoc target with_actr)
  cmake_parse_arguments(G "" "PROTO_ROOT" "PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT G_PROTO_ROOT)
    set(G_PROTO_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  get_filename_component(G_PROTO_ROOT ${G_PROTO_ROOT} ABSOLUTE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
  file(MAKE_DIRECTORY ${out})
  set(import_args -I${G_PROTO_ROOT} -I${ACTR_PROTO_DIR})
  foreach(dir ${G_IMPORT_DIRS})
    list(APPEND import_args -I${dir})
  endforeach()
  set(srcs)
  set(hdrs)
  set(abs_protos)
  foreach(proto ${G_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" stem ${proto})
    list(APPEND srcs ${out}/${stem}.pb.cc)
    list(APPEND hdrs ${out}/${stem}.pb.h)
    if(with_actr)
      list(APPEND hdrs ${out}/${stem}.actr.hpp)
    endif()
    list(APPEND abs_protos ${G_PROTO_ROOT}/${proto})
  endforeach()
  set(plugin_args)
  set(plugin_deps)
  if(with_actr)
    set(plugin_args --plugin=protoc-gen-actr=$<TARGET_FILE:protoc-gen-actr> --actr_out=${out})
    set(plugin_deps protoc-gen-actr)
  endif()
  add_custom_command(
    OUTPUT ${srcs} ${hdrs}
    COMMAND protobuf::protoc ${import_args} --cpp_out=${out} ${plugin_args} ${abs_protos}
    DEPENDS ${abs_protos} ${plugin_deps} protobuf::protoc
    COMMENT "protoc ${target}: ${G_PROTOS}"
    VERBATIM)
  add_library(${target} STATIC ${srcs} ${hdrs})
  target_include_directories(${target} SYSTEM PUBLIC ${out})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

function(actr_protobuf target)
  _actr_protoc(${target} FALSE ${ARGN})
endfunction()

function(actr_generate target)
  _actr_protoc(${target} TRUE ${ARGN})
  target_link_libraries(${target} PUBLIC actr::framework actr::proto)
endfunction()

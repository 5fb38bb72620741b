# actr_target_warnings(target): the project's warning set; errors when ACTR_WERROR (CI) is on.
function(actr_target_warnings target)
  # -Wmismatched-new-delete: g++ 12 false positive on every Asio coroutine frame (awaitable_frame's
  # sized operator delete), in whichever target instantiates one.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers
                                           -Wno-mismatched-new-delete)
  if(ACTR_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# actr_add_test(name SOURCES ... LIBS ...): one gtest binary, registered with CTest.
function(actr_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  actr_target_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
endfunction()

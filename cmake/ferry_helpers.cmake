# ferry_add_module(NAME SRCS ... DEPS ...)
#   One library per module folder, aliased ferry::<NAME>. Includes are rooted
#   at the repository root, so sources write #include "<module>/<file>.hpp".
function(ferry_add_module name)
  cmake_parse_arguments(arg "" "" "SRCS;DEPS" ${ARGN})
  add_library(ferry_${name} ${arg_SRCS})
  add_library(ferry::${name} ALIAS ferry_${name})
  target_include_directories(ferry_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(ferry_${name} PUBLIC ${arg_DEPS})
  ferry_set_warnings(ferry_${name})
endfunction()

# ferry_add_test(NAME SRCS ... DEPS ...)
#   One GoogleTest binary, registered with CTest test by test.
function(ferry_add_test name)
  cmake_parse_arguments(arg "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${arg_SRCS})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gtest_main)
  ferry_set_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endfunction()

function(ferry_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(FERRY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

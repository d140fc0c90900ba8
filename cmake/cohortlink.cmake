# cohortlink_test(NAME SOURCES... DEPS ...)
# One GoogleTest executable per *_test.cc, registered with gtest_discover_tests.
function(cohortlink_test name)
  if(NOT COHORTLINK_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    COHORTLINK_DATASETS_DIR="${COHORTLINK_DATASETS_DIR}"
    COHORTLINK_BINARY_DIR="${CMAKE_BINARY_DIR}")
  # The datasets path is compiled in (COHORTLINK_DATASETS_DIR above; the
  # environment variable of that name overrides it at run time).
  if(COHORTLINK_SANITIZE MATCHES "address")
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp")
  elseif(COHORTLINK_SANITIZE MATCHES "thread")
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ENVIRONMENT
      "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=${CMAKE_SOURCE_DIR}/tests/tsan.supp")
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
  endif()
endfunction()

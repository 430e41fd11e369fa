# Helpers shared by the module CMakeLists.

# cw_module(NAME DEPS...): a static library from every .cpp in the calling folder.
# Adding a source file to a module needs no CMake edit.
function(cw_module name)
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}" "${PROJECT_BINARY_DIR}")
  cw_warnings(${name})
endfunction()

# Project code is built with all warnings (as errors with CW_WERROR); third-party headers are
# system headers.
function(cw_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(CW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    # GCC 12's -Wrestrict fires on std::string concatenation inlined at -O2/-O3 where no
    # overlap exists (GCC bug 105329, fixed in GCC 13): reported, never fatal there.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-error=restrict)
    endif()
  endif()
endfunction()

# cw_embed(TARGET SYMBOL [BASE_DIR DIR] FILES...): compile FILES into TARGET as
# `extern const std::vector<cw::EmbeddedFile> SYMBOL` (see common/embedded.hpp), each named by
# its file name, or with BASE_DIR by its path under DIR ("Noto Sans Bold/0-255.pbf"); with
# BASE_DIR the script is given those short paths, so that hundreds of files fit its command line.
function(cw_embed target symbol)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "BASE_DIR" "")
  set(files "${arg_UNPARSED_ARGUMENTS}")
  set(names "${files}")
  if(arg_BASE_DIR)
    set(names "")
    foreach(f IN LISTS files)
      file(RELATIVE_PATH name "${arg_BASE_DIR}" "${f}")
      list(APPEND names "${name}")
    endforeach()
  endif()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DBASE_DIR=${arg_BASE_DIR}"
            "-DFILES=${names}" -P "${PROJECT_SOURCE_DIR}/cmake/embed.cmake"
    DEPENDS ${files} "${PROJECT_SOURCE_DIR}/cmake/embed.cmake"
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()

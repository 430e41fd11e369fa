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
  endif()
endfunction()

# cw_embed(TARGET SYMBOL FILES...): compile FILES into TARGET as
# `extern const std::vector<cw::EmbeddedFile> SYMBOL` (see common/embedded.hpp).
function(cw_embed target symbol)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DFILES=${ARGN}"
            -P "${PROJECT_SOURCE_DIR}/cmake/embed.cmake"
    DEPENDS ${ARGN} "${PROJECT_SOURCE_DIR}/cmake/embed.cmake"
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()

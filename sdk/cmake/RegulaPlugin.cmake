# regula_add_plugin(NAME SOURCES... [INSTALL_DIR dir])
#
# Builds NAME.so as a regula plugin: a MODULE library against the SDK headers
# only, with hidden visibility (only regula_plugin_entry_v1, marked by
# RG_DEFINE_PLUGIN, is exported), no "lib" prefix, and --no-undefined so a
# missing symbol fails at link time rather than at dlopen. `cmake --install`
# puts it in INSTALL_DIR (default <libdir>/regula/plugins under your prefix,
# where a regula installed to the same prefix finds it; elsewhere, point
# REGULA_PLUGIN_PATH at it).
function(regula_add_plugin name)
  cmake_parse_arguments(RAP "" "INSTALL_DIR" "SOURCES" ${ARGN})
  set(sources ${RAP_SOURCES} ${RAP_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "regula_add_plugin(${name}): no sources")
  endif()
  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE Regula::headers)
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".so"
                        C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden
                        VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  target_link_libraries(${name} PRIVATE m)
  if(NOT RAP_INSTALL_DIR)
    include(GNUInstallDirs)
    set(RAP_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/regula/plugins)
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION ${RAP_INSTALL_DIR})
endfunction()

# Finds the C++ Actor Framework (CAF) 0.17, which ships no CMake package.
#
# Components: core (default), io, openssl. Defines the imported targets
# CAF::core, CAF::io and CAF::openssl for the components found, and
# CAF_FOUND, CAF_VERSION, CAF_INCLUDE_DIRS.

include(FindPackageHandleStandardArgs)

if(NOT CAF_FIND_COMPONENTS)
  set(CAF_FIND_COMPONENTS core)
endif()

find_path(CAF_INCLUDE_DIR NAMES caf/config.hpp
          HINTS ${CAF_ROOT_DIR}/include)

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX REPLACE ".*CAF_VERSION ([0-9]+).*" "\\1" _caf_v
         "${_caf_version_line}")
  math(EXPR _caf_major "${_caf_v} / 10000")
  math(EXPR _caf_minor "(${_caf_v} / 100) % 100")
  math(EXPR _caf_patch "${_caf_v} % 100")
  set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
endif()

set(_caf_required_vars CAF_INCLUDE_DIR)
foreach(comp IN LISTS CAF_FIND_COMPONENTS)
  find_library(CAF_${comp}_LIBRARY NAMES caf_${comp}
               HINTS ${CAF_ROOT_DIR}/lib)
  if(CAF_${comp}_LIBRARY AND CAF_INCLUDE_DIR)
    set(CAF_${comp}_FOUND TRUE)
  else()
    set(CAF_${comp}_FOUND FALSE)
  endif()
endforeach()

find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)

if(CAF_FOUND)
  set(CAF_INCLUDE_DIRS ${CAF_INCLUDE_DIR})
  find_package(Threads REQUIRED)
  foreach(comp core io openssl)
    if(CAF_${comp}_FOUND AND NOT TARGET CAF::${comp})
      add_library(CAF::${comp} UNKNOWN IMPORTED)
      set_target_properties(CAF::${comp} PROPERTIES
        IMPORTED_LOCATION "${CAF_${comp}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
      if(comp STREQUAL "core")
        set_property(TARGET CAF::core APPEND PROPERTY
                     INTERFACE_LINK_LIBRARIES Threads::Threads)
      else()
        set_property(TARGET CAF::${comp} APPEND PROPERTY
                     INTERFACE_LINK_LIBRARIES CAF::core)
      endif()
      if(comp STREQUAL "openssl" AND TARGET CAF::io)
        set_property(TARGET CAF::openssl APPEND PROPERTY
                     INTERFACE_LINK_LIBRARIES CAF::io)
      endif()
    endif()
  endforeach()
endif()

mark_as_advanced(CAF_INCLUDE_DIR CAF_core_LIBRARY CAF_io_LIBRARY
                 CAF_openssl_LIBRARY)

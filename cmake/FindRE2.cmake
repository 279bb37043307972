# Finds RE2, Google's linear-time regular expression library. Newer RE2
# releases install a CMake package (re2Config.cmake, target re2::re2);
# Debian 12's libre2-dev ships only a pkg-config file (re2.pc). This module
# tries the package first, then pkg-config, then a plain search.
#
# Defines the imported target re2::re2 and RE2_FOUND.

include(FindPackageHandleStandardArgs)

if(NOT TARGET re2::re2)
  find_package(re2 CONFIG QUIET)
endif()

if(TARGET re2::re2)
  set(RE2_FOUND TRUE)
  if(NOT RE2_FIND_QUIETLY)
    message(STATUS "Found RE2 (CMake package ${re2_DIR})")
  endif()
  return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_RE2 QUIET re2)
endif()

find_path(RE2_INCLUDE_DIR NAMES re2/re2.h
          HINTS ${PC_RE2_INCLUDEDIR} ${PC_RE2_INCLUDE_DIRS})
find_library(RE2_LIBRARY NAMES re2
             HINTS ${PC_RE2_LIBDIR} ${PC_RE2_LIBRARY_DIRS})

find_package_handle_standard_args(RE2
  REQUIRED_VARS RE2_LIBRARY RE2_INCLUDE_DIR)

if(RE2_FOUND AND NOT TARGET re2::re2)
  find_package(Threads REQUIRED)
  add_library(re2::re2 UNKNOWN IMPORTED)
  set_target_properties(re2::re2 PROPERTIES
    IMPORTED_LOCATION "${RE2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${RE2_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

mark_as_advanced(RE2_INCLUDE_DIR RE2_LIBRARY)

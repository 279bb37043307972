# Summarizes the warnings of a Doxygen run (the `docs` target):
#   cmake -DLOG=<warnings.log> -DHTML=<index.html> -P doxygen_report.cmake
# Prints every warning about a broken comment, and counts the warnings about
# undocumented members (they are listed in the log).
if(NOT EXISTS "${LOG}")
  message(STATUS "API reference: ${HTML}")
  return()
endif()
file(STRINGS "${LOG}" lines)
set(undocumented 0)
set(other 0)
foreach(line IN LISTS lines)
  if(line MATCHES "is not documented")
    math(EXPR undocumented "${undocumented} + 1")
  elseif(line MATCHES "warning:")
    math(EXPR other "${other} + 1")
    message("${line}")
  endif()
endforeach()
message(STATUS "API reference: ${HTML}")
message(STATUS "Doxygen: ${other} warning(s) about comments, ${undocumented} "
               "about undocumented members (listed in ${LOG})")

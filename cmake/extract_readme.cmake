# Writes the first ```cpp block of README.md to OUT, so the README's example
# is compiled (and run) with the project: it cannot rot.
file(READ "${README}" text)
string(FIND "${text}" "```cpp\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "no ```cpp block in ${README}")
endif()
math(EXPR start "${start} + 7")
string(SUBSTRING "${text}" ${start} -1 rest)
string(FIND "${rest}" "```" stop)
string(SUBSTRING "${rest}" 0 ${stop} code)
file(WRITE "${OUT}.tmp" "${code}")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)

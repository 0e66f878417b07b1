# Writes a C file holding files as NUL-terminated byte arrays with their lengths:
#   const char SYM[]; const size_t SYM_len;
# Usage: cmake -DOUT=file.c "-DFILES=sym1=path1;sym2=path2" -P embed_files.cmake
set(body "/* Generated at build time from files of the source tree. Do not edit. */\n#include <stddef.h>\n")
foreach(pair ${FILES})
  string(REGEX MATCH "^([A-Za-z_][A-Za-z0-9_]*)=(.+)$" m "${pair}")
  if(NOT m)
    message(FATAL_ERROR "embed_files: expected SYM=PATH, got ${pair}")
  endif()
  set(sym ${CMAKE_MATCH_1})
  set(path ${CMAKE_MATCH_2})
  file(SIZE ${path} size)
  file(READ ${path} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "const char ${sym}[] = {${hex} 0x00};\nconst size_t ${sym}_len = ${size};\n")
endforeach()
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)

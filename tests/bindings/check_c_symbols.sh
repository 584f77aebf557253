#!/bin/sh
# libsanstls.so exports only sanstls_* symbols and carries its SONAME.
#   check_c_symbols.sh LIBRARY EXPECTED_SONAME
set -eu
lib="$1"
soname="$2"
exported="$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}')"
count="$(printf '%s\n' "$exported" | grep -c . || true)"
stray="$(printf '%s\n' "$exported" | grep -v '^sanstls_' || true)"
if [ -n "$stray" ]; then
  echo "symbols other than sanstls_* are exported from $lib:"
  printf '%s\n' "$stray" | head -20
  exit 1
fi
if [ "$count" -lt 70 ]; then
  echo "only $count sanstls_* symbols exported from $lib (expected the whole C API)"
  exit 1
fi
actual="$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')"
if [ "$actual" != "$soname" ]; then
  echo "SONAME is '$actual', expected '$soname'"
  exit 1
fi
echo "$count sanstls_* symbols exported, nothing else; SONAME $actual"

#!/usr/bin/env bash
# Fails if the core libraries reference transport, clock, thread or
# exception-runtime symbols: the core must stay a pure state machine.
set -euo pipefail
banned='^(socket|connect|bind|listen|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg|poll|select|epoll_create|epoll_create1|epoll_ctl|epoll_wait|clock_gettime|gettimeofday|time|clock|getrandom|pthread_create|pthread_join|thrd_create|__cxa_throw|__cxa_allocate_exception|__cxa_begin_catch|__cxa_end_catch|__cxa_rethrow|__gxx_personality_v0|_Unwind_Resume|fopen|open|read|write)$'
found=0
for lib in "$@"; do
  while read -r symbol; do
    if [[ "$symbol" =~ $banned ]]; then
      echo "forbidden symbol in $(basename "$lib"): $symbol"
      found=1
    fi
  done < <("${NM:-nm}" -u --format=posix "$lib" | awk '{print $1}' | sed 's/@.*//' | sort -u)
done
if (( found )); then exit 1; fi
echo "core libraries reference no socket, clock, thread, file or exception-runtime symbols ($# libraries checked)"

#!/bin/sh
# The binaries are built hardened as the README promises: PIE, full RELRO
# (GNU_RELRO + BIND_NOW), non-executable stack, _FORTIFY_SOURCE in effect.
B=${GRIDRUN_BUILD:-build}
echo "1..5"
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
G=$B/gridrun
t "gridrun is position independent (ET_DYN)" "readelf -h $G | grep -q 'Type:.*DYN'"
t "gridrun has a GNU_RELRO segment" "readelf -lW $G | grep -q GNU_RELRO"
t "gridrun binds now (full RELRO)" "readelf -dW $G | grep -Eq 'BIND_NOW|FLAGS.*NOW'"
t "gridrun's stack is not executable" "readelf -lW $G | grep GNU_STACK | grep -vq 'RWE'"
t "gridrun calls fortified libc functions" "readelf -sW --dyn-syms $G | grep -q '__.*_chk'"

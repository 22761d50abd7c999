#!/bin/bash
# docs.t - the man pages (man/*.scd) document everything a user can type:
# every subcommand and option of `gridrun help`, every option of
# `gridrun-exporter --help`, every key of runtime/config.c's key tables and
# every spec key the parser (runtime/spec*.c) accepts or names, every
# GRIDRUN_* environment variable the runtime reads (in gridrun(1)); each page
# renders with scdoc. The names are read from the binaries and the sources,
# so a key added there without a man page line fails here.
set -u
G=${GRIDRUN:?GRIDRUN: the gridrun binary}
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
B=${GRIDRUN_BUILD:-$(dirname "$G")}
M=$SRC/man
n=0
t() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
doc() { # PAGE NAME: whether the page sets NAME in bold (*NAME*)
	if grep -qF -- "*$2*" "$M/$1.scd" 2>/dev/null; then echo yes; else echo no; fi
}
pages="gridrun.1 gridrun-condor.1 gridrun-exporter.8 gridrun-helper.8 gridrun-lsm.8 gridrun.conf.5 gridrun-spec.5"
cmds=$("$G" help | sed -n 's/^  gridrun \([a-z]*\).*/\1/p')
opts=$(for c in $cmds; do "$G" help "$c"; done | grep -o -- '--[a-z][a-z-]*' | sort -u)
xopts=$("$B/gridrun-exporter" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
# [runtime], [pool NAME] and [rootfs NAME] keys: the *_keys[] tables
ckeys=$(awk '/_keys\[\] = \{/ { on = 1 } on { print } /NULL \};/ { on = 0 }' "$SRC/runtime/config.c" |
	grep -o '"[a-z_]*"' | tr -d '"' | sort -u)
# spec members: every streq(key, "NAME") of the parser, and the blockIO
# throttle lists of spec-resources.c's table
skeys=$( (cat "$SRC"/runtime/spec*.c | grep -o 'streq(key, "[A-Za-z_]*")' | cut -d'"' -f2
	grep -o '"throttle[A-Za-z]*Device"' "$SRC/runtime/spec-resources.c" | tr -d '"') | sort -u)
# getenv("GRIDRUN_NAME") anywhere in the library's sources
envs=$(cat "$SRC"/runtime/*.c "$SRC"/runtime/helper/*.c "$SRC"/cgroups/*.c |
	grep -o 'getenv("GRIDRUN_[A-Z_]*")' | cut -d'"' -f2 | sort -u)
count() { echo $#; }
echo "1..$(( $(count $pages) * 2 + $(count $cmds) + $(count $opts) + $(count $xopts) + $(count $ckeys) + $(count $skeys) + $(count $envs) ))"
for p in $pages; do
	t "$([ -f "$M/$p.scd" ] && echo yes || echo no)" yes "man/$p.scd exists"
	err=$(scdoc <"$M/$p.scd" 2>&1 >/dev/null); t "$?${err:+ $err}" 0 "scdoc renders $p"
done
for c in $cmds; do t "$(doc gridrun.1 "$c")" yes "gridrun(1) documents the command $c"; done
for o in $opts; do t "$(doc gridrun.1 "$o")" yes "gridrun(1) documents the option $o"; done
for o in $xopts; do t "$(doc gridrun-exporter.8 "$o")" yes "gridrun-exporter(8) documents $o"; done
for k in $ckeys; do t "$(doc gridrun.conf.5 "$k")" yes "gridrun.conf(5) documents the key $k"; done
for k in $skeys; do t "$(doc gridrun-spec.5 "$k")" yes "gridrun-spec(5) documents the spec key $k"; done
for e in $envs; do t "$(doc gridrun.1 "$e")" yes "gridrun(1) documents the environment variable $e"; done

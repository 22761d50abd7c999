# gridrun - job-sandbox runtime for grid and batch worker nodes.
# `make demo` builds and runs a sandboxed demo job; `make check` runs the suite.
# Both install their Debian build dependencies first (scripts/install-deps.sh).

CC ?= gcc
BUILD ?= build
PKGS := jansson inih libseccomp libcap libnl-3.0 libnl-route-3.0 zlib libcgroup

HARDEN_CFLAGS := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
WARN_CFLAGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2
OPT_CFLAGS ?= -O2 -g
SAN_CFLAGS ?=
CFLAGS_ALL = -std=gnu11 -D_GNU_SOURCE $(OPT_CFLAGS) $(WARN_CFLAGS) $(HARDEN_CFLAGS) \
	$(SAN_CFLAGS) -Iruntime -Iruntime/helper -Icgroups -Icondor $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now,-z,noexecstack -Wl,--as-needed $(SAN_CFLAGS) $(LDFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# The libraries beside libc are linked statically: loading and binding five
# shared objects at every job start cost ~5 ms of CPU (BENCHMARKS.md). PIE
# and full RELRO are kept; libc stays dynamic. Rebuild on their updates.
PKG_LIBS = -Wl,-Bstatic $(shell pkg-config --libs $(PKGS) 2>/dev/null) -Wl,-Bdynamic -lpthread -lm

# libgridrun.a: every module of runtime/, cgroups/ and condor/ except the
# mains of the CLI and of gridrun-condor.
LIB_SRCS := $(filter-out runtime/main.c runtime/helper/helper-main.c condor/wrapper.c,$(wildcard runtime/*.c runtime/helper/*.c cgroups/*.c condor/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/seccomp-builtin.o
LIB := $(BUILD)/libgridrun.a

# Tests: one kselftest_harness binary per tests/*_test.c, linked with
# tests/lib/*.c; shell tests are tests/*.t (TAP). All run under prove.
TEST_LIB_SRCS := $(wildcard tests/lib/*.c tests/condor/*.c)
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/*_test.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_SCRIPTS := $(wildcard tests/*.t)
# The fuzz targets make check runs (see "Fuzz targets" below).
FUZZ_BINS := $(BUILD)/fuzz/helper_fuzz $(BUILD)/fuzz/classad_fuzz

# The harness's FIXTURE_SETUP/TEARDOWN define global functions without prototypes.
TEST_CFLAGS = -isystem $(BUILD)/include -Itests/lib -Itests/condor -Wno-missing-prototypes -Wno-unused-parameter
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz
HARNESS := $(BUILD)/include/kselftest_harness.h
DEPS_STAMP := $(BUILD)/.deps-$(DEPSET)
DEPSET ?= build

PREFIX ?= /usr/local

.PHONY: all deps demo check check-deps asan bench clean install detected
# keep the test library objects: make would delete them as intermediates
.SECONDARY:
all: $(BUILD)/gridrun $(BUILD)/gridrun-exporter $(BUILD)/gridrun-helper $(BUILD)/gridrun-condor

INSTALL_DEPS ?= scripts/install-deps.sh
deps:
	@$(INSTALL_DEPS) $(DEPSET)

$(BUILD)/.deps-%: $(INSTALL_DEPS)
	@mkdir -p $(@D)
	@$(INSTALL_DEPS) $*
	@touch $@

# What this Makefile finds when it is read (the BPF tools of lsm.mk,
# libmicrohttpd's soname) may arrive with the Debian packages on a fresh
# machine: the goal's dependency stamp is an included makefile, so make
# makes it first and then reads the Makefile again, with the tools there.
GOAL_DEPSET_all := build
GOAL_DEPSET_demo := build
GOAL_DEPSET_detected := build
GOAL_DEPSET_tests-build := check
GOAL_DEPSET_check-lane := check
GOAL_DEPSET_check := vm
GOAL_DEPSET_bench := bench
GOAL_DEPSET := $(firstword $(foreach g,$(or $(MAKECMDGOALS),all),$(GOAL_DEPSET_$(g))))
ifneq ($(GOAL_DEPSET),)
-include $(BUILD)/.deps-$(GOAL_DEPSET)
endif

$(BUILD)/%.o: %.c $(BUILD)/.deps-build
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# The shipped seccomp profiles, also built into the binary with their filters
# compiled at build time (gr-seccomp.h) by seccomp-profiles/builtin-gen.c,
# which links the loader's own objects.
SECCOMP_PROFILES := $(sort $(wildcard seccomp-profiles/*.json))
SECCOMP_DIR = $(PREFIX)/share/gridrun/seccomp
SECCOMP_GEN_OBJS := $(addprefix $(BUILD)/runtime/,seccomp.o seccomp-guard.o seccomp-merge.o seccomp-profile.o spec-pos.o error.o)
$(BUILD)/runtime/seccomp.o: CFLAGS_ALL += -DGR_SECCOMP_DIR='"$(SECCOMP_DIR)"'
$(BUILD)/gen/builtin-gen: seccomp-profiles/builtin-gen.c $(SECCOMP_GEN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
$(BUILD)/gen/seccomp-builtin.c: $(BUILD)/gen/builtin-gen $(SECCOMP_PROFILES)
	$(BUILD)/gen/builtin-gen $(SECCOMP_PROFILES) >$@.tmp && mv $@.tmp $@
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/.deps-build
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/gridrun: $(BUILD)/runtime/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# gridrun-helper: helper mode's privileged step (runtime/helper/helper.h), installed
# setuid-root in $(HELPER_DIR); gridrun runs it from there ($GRIDRUN_HELPER
# overrides that for the unprivileged caller only).
HELPER_DIR = $(PREFIX)/libexec/gridrun
$(BUILD)/runtime/helper/helper-client.o: CFLAGS_ALL += -DGR_HELPER_PATH='"$(HELPER_DIR)/gridrun-helper"'
$(BUILD)/gridrun-helper: $(BUILD)/runtime/helper/helper-main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# gridrun-condor: HTCondor's USER_JOB_WRAPPER (condor/README.md).
$(BUILD)/gridrun-condor: $(BUILD)/condor/wrapper.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# gridrun_spank.so: Slurm's SPANK plugin (slurm/README.md), against Debian's
# spank.h (libslurm-dev); its own objects, position-independent (-fPIC).
SPANK_SRCS := $(wildcard slurm/*.c) runtime/util.c runtime/error.c
$(BUILD)/gridrun_spank.so: $(SPANK_SRCS) $(wildcard slurm/*.h runtime/*.h) $(BUILD)/.deps-check
	$(CC) $(filter-out -fPIE,$(CFLAGS_ALL)) -fPIC -shared -Wl,-z,relro,-z,now,-z,noexecstack -o $@ $(SPANK_SRCS) -ljansson -linih
tests-build: $(BUILD)/gridrun_spank.so

# gridrun-exporter: libgridrun.a; libmicrohttpd is not linked but loaded
# (dlopen) only to serve HTTP, so that a --textfile one-shot does not pay
# ~3 ms mapping it and its nine libraries (exporter/mhd.h). Its soname is the
# one of the library built against.
MHD_SONAME := $(shell readelf -d "$$(pkg-config --variable=libdir libmicrohttpd 2>/dev/null)/libmicrohttpd.so" 2>/dev/null | \
		sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
EXPORTER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard exporter/*.c))
$(EXPORTER_OBJS): CFLAGS_ALL += $(shell pkg-config --cflags libmicrohttpd 2>/dev/null) \
	$(if $(MHD_SONAME),-DGR_MHD_SONAME='"$(MHD_SONAME)"')
$(BUILD)/gridrun-exporter: $(EXPORTER_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -ldl

# The harness comes from Debian's kernel source package at build time.
$(HARNESS): $(BUILD)/.deps-check
	@mkdir -p $(@D)
	tar -xJf $(KSRC_TAR) -C $(@D) --strip-components=4 --wildcards \
		'*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h'
	@touch $@

$(TEST_LIB_OBJS): $(BUILD)/%.o: %.c $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(TEST_LIB_OBJS) $(LIB) $(HARNESS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -MMD -MP \
		$(LDFLAGS_ALL) -o $@ $< $(TEST_LIB_OBJS) $(LIB) $(PKG_LIBS) -lpthread

tests-build: $(BUILD)/gridrun $(BUILD)/gridrun-exporter $(BUILD)/gridrun-helper $(BUILD)/gridrun-condor \
	$(BUILD)/tests/gr-probe $(BUILD)/tests/gr-sysprobe $(TEST_BINS) $(FUZZ_BINS)
.PHONY: tests-build
include kmod-optional/lsm.mk

# What was found when the Makefile was read (tests/make-deps.t).
detected:
	@echo "lsm: $(or $(LSM_BIN),none)"
	@echo "mhd: $(or $(MHD_SONAME),none)"

# The cgroup v2 lane: lane.t boots a pure cgroup v2 guest (tests/vm/) once and
# runs $(GRIDRUN_TESTS) in it. It is not one of TEST_SCRIPTS, so the guest
# never runs it again.
VM_LANE := tests/vm/lane.t

# make check: the whole suite under prove, on this host and in the guest; any
# SKIP fails the run unless GRIDRUN_ALLOW_SKIP=1 (for users on a poorer kernel
# than CI's). The vm dependency set is the check set plus qemu and busybox.
# Scripts that run on this host only: asan.t builds and runs the suite again
# (make asan), the *fuzz.t fuzz userland parsers under ASan already (nothing
# of the kernel in them), bench.t, condor_bench.t and phases.t time things. None runs
# in the guest nor inside make asan.
HOST_ONLY_SCRIPTS := tests/asan.t tests/bench.t tests/fuzz.t tests/classad_fuzz.t tests/condor_bench.t \
	tests/make-fuzz.t tests/make-deps.t tests/install.t tests/slurm.t tests/docs.t tests/completion.t tests/deb.t tests/phases.t
LANE_SCRIPTS = $(filter-out $(HOST_ONLY_SCRIPTS),$(TEST_SCRIPTS))
TEST_ENV = GRIDRUN=$(abspath $(BUILD)/gridrun) GRIDRUN_SRC=$(CURDIR) GRIDRUN_BUILD=$(abspath $(BUILD))

check: DEPSET = vm
check: $(BUILD)/.deps-vm tests-build
	$(TEST_ENV) GRIDRUN_TESTS="$(TEST_BINS) $(LANE_SCRIPTS)" \
		tests/run-prove $(TEST_BINS) $(TEST_SCRIPTS) $(VM_LANE)

# Fuzz targets (libFuzzer; clang): the helper's request (argv and
# environment, S15), the job-ad parser of gridrun-condor and the spec
# parser. make check runs the first two for a bounded time (tests/fuzz.t,
# tests/classad_fuzz.t); make fuzz runs all three for FUZZ_SECONDS each.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -D_GNU_SOURCE -Iruntime -Iruntime/helper -Icgroups $(PKG_CFLAGS)
HELPER_FUZZ_SRCS := tests/fuzz/helper_fuzz.c runtime/helper/helper.c runtime/config.c runtime/config-ids.c runtime/handover.c runtime/fsstat.c runtime/util.c runtime/error.c
SPEC_FUZZ_SRCS := tests/fuzz/spec_fuzz.c runtime/spec.c runtime/spec-linux.c runtime/spec-resources.c runtime/spec-oci.c runtime/util.c \
	runtime/spec-pos.c runtime/error.c
$(BUILD)/fuzz/helper_fuzz: $(HELPER_FUZZ_SRCS) $(wildcard runtime/*.h runtime/helper/*.h) $(BUILD)/.deps-check
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(HELPER_FUZZ_SRCS) -linih -lcap
$(BUILD)/fuzz/spec_fuzz: $(SPEC_FUZZ_SRCS) $(wildcard runtime/*.h) $(BUILD)/.deps-check
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(SPEC_FUZZ_SRCS) -ljansson
CLASSAD_FUZZ_SRCS := tests/fuzz/classad_fuzz.c condor/classad.c runtime/util.c runtime/error.c
$(BUILD)/fuzz/classad_fuzz: $(CLASSAD_FUZZ_SRCS) condor/classad.h $(BUILD)/.deps-check
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Icondor -o $@ $(CLASSAD_FUZZ_SRCS)
fuzz: $(FUZZ_BINS) $(BUILD)/fuzz/spec_fuzz
	GRIDRUN_BUILD=$(abspath $(BUILD)) GRIDRUN_SRC=$(CURDIR) GRIDRUN_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz.t
	GRIDRUN_BUILD=$(abspath $(BUILD)) GRIDRUN_SRC=$(CURDIR) GRIDRUN_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/classad_fuzz.t
	mkdir -p $(BUILD)/fuzz/spec-corpus
	$(BUILD)/fuzz/spec_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(BUILD)/fuzz/spec-corpus \
		tests/specs/good tests/specs/bad
.PHONY: fuzz

# make asan: the host lane built with ASan and UBSan (every report fatal)
# into build-asan/; make check runs it through tests/asan.t.
asan:
	$(MAKE) BUILD=build-asan OPT_CFLAGS="-O1 -g" \
		SAN_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		check-lane

check-lane: DEPSET = check
check-lane: $(BUILD)/.deps-check tests-build
	$(TEST_ENV) tests/run-prove $(TEST_BINS) $(LANE_SCRIPTS)
.PHONY: check-lane

demo: $(BUILD)/.deps-build $(BUILD)/gridrun
	examples/demo.sh $(abspath $(BUILD)/gridrun)

# make bench: bench/run.sh runs gridrun's rows (helper mode's through a
# setuid copy of the helper it makes) and then handover-bench, which times the
# sandbox hand-over with libgridrun.a's own calls (BENCHMARKS.md).
bench: DEPSET = bench
bench: $(BUILD)/.deps-bench $(BUILD)/gridrun $(BUILD)/gridrun-helper $(BUILD)/bench/handover-bench
	bench/run.sh $(abspath $(BUILD)/gridrun)

$(BUILD)/bench/handover-bench: bench/handover-bench.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

# make install / make uninstall: the programs, gridrun-helper setuid root,
# the seccomp profiles, the man pages (scdoc), bash completion, the systemd
# units and /etc/gridrun/gridrun.conf (every line commented out: no pools
# until the site writes some; never overwritten). The Debian package
# (debian/, `make deb`) installs the same with PREFIX=/usr.
# contrib/gridrun-helper.caps is the one copy of the helper's file
# capabilities: the README's setcap line and debian's postinst read the
# installed file (tests/install.t compares it with the helper's own list).
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_PAGES := $(patsubst man/%.scd,$(BUILD)/man/%,$(wildcard man/*.scd))
UNITS := $(BUILD)/units/gridrun-exporter.service $(BUILD)/units/gridrun-gc.service contrib/systemd/gridrun-gc.timer
# gridrun-lsm and its unit only where kmod-optional/lsm.mk could build it
LSM_UNIT := $(if $(LSM_BIN),$(BUILD)/units/gridrun-lsm.service)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	scdoc <$< >$@.tmp && mv $@.tmp $@
man: $(MAN_PAGES)
$(BUILD)/units/%: contrib/systemd/%.in
	@mkdir -p $(@D)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' $< >$@
$(BUILD)/gridrun.conf: examples/gridrun.conf
	sed -e 's|^\([^#;]\)|# \1|' $< >$@
.PHONY: man uninstall deb

install: $(BUILD)/gridrun $(BUILD)/gridrun-exporter $(BUILD)/gridrun-helper $(BUILD)/gridrun-condor \
		$(MAN_PAGES) $(UNITS) $(BUILD)/gridrun.conf $(LSM_BIN) $(LSM_UNIT)
	install -D -m 0755 $(BUILD)/gridrun $(DESTDIR)$(PREFIX)/bin/gridrun
	$(if $(LSM_BIN),install -D -m 0755 $(LSM_BIN) $(DESTDIR)$(PREFIX)/bin/gridrun-lsm)
	$(if $(LSM_UNIT),install -D -m 0644 -t $(DESTDIR)$(UNITDIR) $(LSM_UNIT))
	install -D -m 0755 $(BUILD)/gridrun-exporter $(DESTDIR)$(PREFIX)/bin/gridrun-exporter
	install -D -m 0755 $(BUILD)/gridrun-condor $(DESTDIR)$(PREFIX)/bin/gridrun-condor
	install -D -m 4755 -o root -g root $(BUILD)/gridrun-helper $(DESTDIR)$(HELPER_DIR)/gridrun-helper
	install -D -m 0644 -t $(DESTDIR)$(SECCOMP_DIR) $(SECCOMP_PROFILES)
	install -D -m 0644 contrib/gridrun-helper.caps $(DESTDIR)$(PREFIX)/share/gridrun/gridrun-helper.caps
	for m in $(MAN_PAGES); do install -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	install -D -m 0644 contrib/gridrun.bash-completion $(DESTDIR)$(COMPLETIONDIR)/gridrun
	install -D -m 0644 -t $(DESTDIR)$(UNITDIR) $(UNITS)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/gridrun
	[ -e $(DESTDIR)$(SYSCONFDIR)/gridrun/gridrun.conf ] || \
		install -m 0644 $(BUILD)/gridrun.conf $(DESTDIR)$(SYSCONFDIR)/gridrun/gridrun.conf

# The site's gridrun.conf stays (like a conffile on remove).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,gridrun gridrun-exporter gridrun-condor gridrun-lsm)
	rm -f $(DESTDIR)$(UNITDIR)/gridrun-lsm.service
	rm -f $(DESTDIR)$(HELPER_DIR)/gridrun-helper
	rm -f $(addprefix $(DESTDIR)$(SECCOMP_DIR)/,$(notdir $(SECCOMP_PROFILES)))
	rm -f $(DESTDIR)$(PREFIX)/share/gridrun/gridrun-helper.caps
	for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	rm -f $(DESTDIR)$(COMPLETIONDIR)/gridrun $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	-rmdir $(DESTDIR)$(HELPER_DIR) $(DESTDIR)$(SECCOMP_DIR) $(DESTDIR)$(PREFIX)/share/gridrun 2>/dev/null

# make deb: the Debian package (debian/), built by dpkg-buildpackage in a
# copy of the tree under $(BUILD)/deb, so nothing lands beside the checkout.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
export DEB_BUILD_OPTIONS ?= parallel=$(shell nproc)
deb: $(BUILD)/.deps-check
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	tar -c --exclude=./build --exclude=./build-asan --exclude=./.git . | tar -x -C $(BUILD)/deb/src
	cd $(BUILD)/deb/src && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(BUILD)/deb/gridrun_$(DEB_VERSION)_*.deb

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The probe the tests run inside jobs: a fixture, not code under test, so it
# is built without sanitizers even in `make asan` (LeakSanitizer's exit-time
# scan would be CPU in the job's cgroup after the probe's last clock read,
# and under pids.max it cannot even start its thread).
PROBE_CFLAGS = $(filter-out $(SAN_CFLAGS),$(CFLAGS_ALL))
PROBE_LDFLAGS = $(filter-out $(SAN_CFLAGS),$(LDFLAGS_ALL))
$(BUILD)/tests/gr-probe: tests/probe/gr-probe.c $(BUILD)/.deps-build
	@mkdir -p $(@D)
	$(CC) $(PROBE_CFLAGS) $(PROBE_LDFLAGS) -o $@ $< -lpthread

# The raw-syscall probe of tests/seccomp_test.c: a fixture too (under the
# strict profile LeakSanitizer could not even start its exit-time scan).
$(BUILD)/tests/gr-sysprobe: tests/probe/gr-sysprobe.c $(BUILD)/.deps-build
	@mkdir -p $(@D)
	$(CC) $(PROBE_CFLAGS) $(PROBE_LDFLAGS) -o $@ $< -lpthread

# The BPF LSM (kmod-optional/README.md), included by the top Makefile. Built
# when clang and bpftool exist: vmlinux.h from the running kernel's BTF into
# $(BUILD)/lsm (never committed), the programs for clang -target bpf, their
# libbpf skeletons (the LSM, the task iterator of gridrun_tasks.bpf.c and
# the holder scan of gridrun_scan.bpf.c),
# and the loader gridrun-lsm (libbpf linked statically, so that the v2 guest
# and hosts without libbpf1 run the same binary).
LSM_SBIN ?= /usr/sbin
LSM_BPFTOOL := $(shell command -v bpftool 2>/dev/null || ls $(LSM_SBIN)/bpftool 2>/dev/null)
LSM_CLANG := $(shell command -v clang 2>/dev/null)
ifneq ($(LSM_BPFTOOL),)
ifneq ($(LSM_CLANG),)
LSM_BIN := $(BUILD)/gridrun-lsm
endif
endif

$(BUILD)/lsm/vmlinux.h:
	@mkdir -p $(@D)
	$(LSM_BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c >$@.tmp && mv $@.tmp $@
$(BUILD)/lsm/%.bpf.o: kmod-optional/%.bpf.c kmod-optional/gridrun-lsm.h $(BUILD)/lsm/vmlinux.h
	$(LSM_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I$(BUILD)/lsm -Ikmod-optional -c -o $@ $<
$(BUILD)/lsm/%.skel.h: $(BUILD)/lsm/%.bpf.o
	$(LSM_BPFTOOL) gen skeleton $< name $*_bpf >$@.tmp && mv $@.tmp $@
$(BUILD)/gridrun-lsm: kmod-optional/gridrun-lsm.c $(BUILD)/lsm/gridrun_lsm.skel.h $(BUILD)/lsm/gridrun_tasks.skel.h $(BUILD)/lsm/gridrun_scan.skel.h
	$(CC) $(CFLAGS_ALL) -I$(BUILD)/lsm $(LDFLAGS_ALL) -o $@ $< -Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic

.PRECIOUS: $(BUILD)/lsm/%.bpf.o $(BUILD)/lsm/%.skel.h
all tests-build: $(LSM_BIN)
bench: $(LSM_BIN)

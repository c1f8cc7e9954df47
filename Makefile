# SPDX-License-Identifier: GPL-2.0
# sitemh: site multihoming for stub networks, as a Rust-for-Linux kernel module.
#
#   make demo     boot the test kernel in a VM, load the module, show what it does
#   make check    set-up, kernel (cached), module, host tests, VM tests (KUnit + kselftests)
#   make soak     the same at full size: 64 MiB transfers, 100,000 connections, 5000
#                 unprivileged iterations, 10 equivalence seeds, 300 s of fuzzing per target
#
# Other targets: setup, kernel, module, install, host-test, fuzz, vm-test, bench, fmt, clean.
# KDIR=<kernel build tree> builds the module against another CONFIG_RUST kernel.

# Kbuild reads ./Kbuild, never this file.
SHELL := /bin/bash
ROOT := $(CURDIR)
LLVM_VERSION ?= 19
export LIBCLANG_PATH ?= /usr/lib/llvm-$(LLVM_VERSION)/lib
export PATH := $(HOME)/.cargo/bin:/usr/lib/llvm-$(LLVM_VERSION)/bin:$(PATH)

export SITEMH_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/sitemh

# The kernel tree to build against: the cached test kernel unless KDIR is given.
ifeq ($(origin KDIR),undefined)
KDIR := $(SITEMH_CACHE)/kernel
MODULE_DEPS := kernel
endif
# Our kernel is built with LLVM; pass LLVM= (empty) for a GCC-built KDIR.
LLVM ?= -$(LLVM_VERSION)
KMAKE := $(MAKE) -C $(KDIR) M=$(ROOT) LLVM=$(LLVM)

.PHONY: all setup kernel module install lib tools sitemhctl host-test fuzz vm-test check soak demo bench fmt fmt-check clean

all: module lib tools sitemhctl

setup:
	@scripts/setup.sh

kernel: setup
	@scripts/build-kernel.sh >/dev/null

# Warnings are errors for C and Rust, and clippy runs as the compiler (CLIPPY=1).
module: $(MODULE_DEPS) fmt-check
	@+$(KMAKE) CLIPPY=1 KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings modules

# Installing as kernel modules are installed (Documentation/building.md, "Installing"): the
# kernel's modules_install puts the built module in
# $(INSTALL_MOD_PATH)/lib/modules/<KDIR's release>/$(INSTALL_MOD_DIR)/ and runs depmod there.
# It installs the module that is built (KO=<file> another one, built against KDIR) and
# builds sitemh.ko only when there is none; `make module` rebuilds. Boot-time examples: etc/.
INSTALL_MOD_DIR ?= extra
KO ?= sitemh.ko
install: $(if $(filter file,$(origin KO)),$(if $(wildcard $(KO)),,module))
	@+INSTALL_MOD_PATH="$(INSTALL_MOD_PATH)" INSTALL_MOD_DIR="$(INSTALL_MOD_DIR)" LLVM="$(LLVM)" \
		scripts/install-module.sh "$(KDIR)" "$(KO)"

# The application library (include/sitemh.h): static, and shared for FFI users.
LIB_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -fPIC -Iinclude -Iinclude/uapi
lib: lib/libsitemh.a lib/libsitemh.so

lib/sitemh.o: lib/sitemh.c include/sitemh.h include/uapi/linux/sitemh.h
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

lib/sitemh_ssl.o: lib/sitemh_ssl.c include/sitemh.h include/uapi/linux/sitemh.h
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

# sitemh_protect_ssl() (sitemh_ssl.o) needs OpenSSL: a static link pulls it in only if
# called; the shared library links OpenSSL.
lib/libsitemh.a: lib/sitemh.o lib/sitemh_ssl.o
	$(AR) rcs $@ $^

lib/libsitemh.so: lib/sitemh.o lib/sitemh_ssl.o
	$(CC) -shared -o $@ $^ -lssl -lcrypto

# The selftests' helper programs, built here: the guest cannot write the tree.
tools:
	@$(MAKE) --no-print-directory -C selftests all

# The operator's tool (Documentation/usage.md, "sitemhctl"): a cargo crate without
# dependencies, so offline; the binary is tools/sitemhctl/target/release/sitemhctl, where
# selftests/sitemh_ctl.sh finds it.
sitemhctl:
	@cargo build --release --offline --quiet --manifest-path tools/sitemhctl/Cargo.toml

fmt:
	@rustfmt --edition 2021 rust/sitemh_main.rs rust/host/lib.rs

fmt-check:
	@rustfmt --check --edition 2021 rust/sitemh_main.rs rust/host/lib.rs

host-test:
	@scripts/host-tests.sh

# libFuzzer over the parsers of rust/logic, FUZZ_SECONDS per target (make check runs 20 s
# each); FUZZ_TARGETS="notice sealed" picks targets.
FUZZ_SECONDS ?= 300
fuzz: setup
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

vm-test: module tools sitemhctl
	@scripts/vm-run.sh test

check:
	@scripts/check.sh

soak:
	@SITEMH_SOAK=1 scripts/check.sh

demo: module tools
	@scripts/vm-run.sh demo

# Benchmarks (not tests): ratios against baselines measured in the same VM run, on a kernel
# without the debug options (kernel/debug.config) that would dominate the per-packet cost.
# The module for it is built from a copy of the tracked sources, so the test build stays.
BENCH_KDIR := $(SITEMH_CACHE)/kernel-bench
BENCH_MODULE := $(SITEMH_CACHE)/bench-module
# BENCH_PARTS="forward native select operate switchover scale" (the default) picks parts: the
# forward path under instruction counting in a guest of its own (forward) and at native
# speed in User-Mode Linux (native), both scripts/bench-forward.sh; selection, domains from
# router advertisements (operate), switchover
# time and switchover at scale, 1,000 connections (scripts/bench.sh).
BENCH_PARTS ?= forward native select operate switchover scale
UML_KDIR := $(SITEMH_CACHE)/kernel-uml
UML_MODULE := $(SITEMH_CACHE)/uml-module
bench: setup fmt-check tools
	@echo "Source-domain routing decision on this machine's CPU (native; rust/host/bench.rs), ns per packet, median of 7:"
	@cargo test --release --features bench --manifest-path rust/host/Cargo.toml -- --nocapture \
		--test-threads=1 decision_cost 2>/dev/null | sed -n 's/.*\(decision .*\)/\1/p'
	@scripts/build-kernel.sh bench >/dev/null
	@mkdir -p $(BENCH_MODULE)
	@git ls-files -z Kbuild rust include scripts | rsync -a --files-from=- --from0 . $(BENCH_MODULE)/
	@+$(MAKE) -C $(BENCH_KDIR) M=$(BENCH_MODULE) LLVM=$(LLVM) CLIPPY=1 KCFLAGS=-Werror \
		KRUSTFLAGS=-Dwarnings modules
	@case " $(BENCH_PARTS) " in *" forward "*) \
		KDIR=$(BENCH_KDIR) SITEMH_KO=$(BENCH_MODULE)/sitemh.ko scripts/vm-run.sh bench-forward;; esac
	@# (UML's asm-generic/io.h does arithmetic on a NULL PCI_IOBASE, which clang warns of;
	@# UML builds Rust as PIE, whose GOT relocations its module loader does not apply.)
	@case " $(BENCH_PARTS) " in *" native "*) \
		scripts/build-kernel.sh uml >/dev/null && mkdir -p $(UML_MODULE) && \
		git ls-files -z Kbuild rust include scripts | rsync -a --files-from=- --from0 . $(UML_MODULE)/ && \
		$(MAKE) -s -C $(UML_KDIR) M=$(UML_MODULE) ARCH=um LLVM=$(LLVM) \
			KCFLAGS="-Werror -Wno-null-pointer-arithmetic" \
			KRUSTFLAGS="-Dwarnings -Zdirect-access-external-data=yes" modules && \
		scripts/uml-run.sh $(UML_MODULE)/sitemh.ko;; esac
	@parts="$(filter-out forward native,$(BENCH_PARTS))"; [ -z "$$parts" ] || \
		BENCH_PARTS="$$parts" KDIR=$(BENCH_KDIR) SITEMH_KO=$(BENCH_MODULE)/sitemh.ko scripts/vm-run.sh bench

clean:
	@if [ -d "$(KDIR)" ]; then $(KMAKE) clean; fi
	@rm -rf rust/host/target rust/fuzz/target tools/sitemhctl/target lib/*.a lib/*.so lib/*.o
	@$(MAKE) --no-print-directory -C selftests clean

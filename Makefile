# SPDX-License-Identifier: GPL-2.0
#
# pKVM ITS hardening: the two commands are "make run" and "make check".
# Everything is built in the cache (PKVM_ITS_CACHE, default
# ~/.cache/pkvm-its); this checkout is never written to except by
# "make export".

SHELL := /bin/bash
S := scripts
CACHE ?= $(or $(PKVM_ITS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pkvm-its)
export PKVM_ITS_CACHE := $(CACHE)

# make run builds where make check does: the series as applied from
# patches/ in $(CACHE)/check, built in $(CACHE)/build/check.
SERIES_TREE := $(CACHE)/check
SERIES_OUT := $(CACHE)/build/check
BASE_OUT := $(CACHE)/build/base
IMAGE := $(SERIES_OUT)/arch/arm64/boot/Image
BASE_IMAGE := $(BASE_OUT)/arch/arm64/boot/Image
INITRAMFS := $(CACHE)/initramfs.cpio.gz
CELL ?= gic3-hvhe
CELLS ?= $(shell . $(S)/lib.sh 2>/dev/null; echo "$$ALL_CELLS")

FUZZ_TIME ?= 1800

.PHONY: help deps base tree export build initramfs run check \
	check-series attack bench fuzz shell clean

help:
	@echo 'pKVM ITS hardening: a patch series for Linux 7.3 (see README.md)'
	@echo
	@echo '  make run      fetch the base, apply patches/, build, boot pKVM in'
	@echo '                the QEMU matrix ($(CELLS))'
	@echo '                and run the protected-VM and regression suites'
	@echo '  make check    everything: series consistency, checkpatch, per-patch'
	@echo '                builds, sparse, the QEMU matrix; ends "N passed, N failed"'
	@echo '  make attack   the attack suite on the base and the series kernel, and'
	@echo '                the table attack x kernel x cell'
	@echo '  make bench    ITS command throughput, protected vs kvm-arm.mode=nvhe,'
	@echo '                median of 5 alternating rounds per cell'
	@echo '  make fuzz     fuzz the ITS command validator against a page-ownership'
	@echo '                model for FUZZ_TIME seconds (default $(FUZZ_TIME))'
	@echo '  make shell    boot the series kernel into a busybox shell (CELL=$(CELL))'
	@echo '  make tree     make/refresh the kernel work tree (branch pkvm-its)'
	@echo '  make export   export the work tree to patches/ and the overlay'
	@echo '  make check-series   only the consistency/checkpatch/build/sparse part'
	@echo '  make deps     install the Debian packages needed (sudo if not root)'
	@echo '  make clean    remove build outputs (keeps downloads and the tree)'
	@echo
	@echo 'KERNEL_SRC=/path/to/linux-7.3 uses your own tree as the base.'
	@echo 'Cache: $(CACHE)'

deps:
	@$(S)/deps.sh

base: deps
	@$(S)/fetch-base.sh

tree: base
	@$(S)/tree.sh >/dev/null

export:
	@$(S)/export.sh

build: base
	@$(S)/check-series.sh --tree >/dev/null
	@$(S)/build-kernel.sh $(SERIES_TREE) $(SERIES_OUT) >/dev/null
	@$(S)/build-selftests.sh $(SERIES_TREE) $(SERIES_OUT) >/dev/null

initramfs: build
	@$(S)/mkinitramfs.sh $(INITRAMFS) $(SERIES_OUT)/kselftest/kvm

run: initramfs
	@$(S)/run-matrix.sh --name series --suite pvm,regress --cells "$(CELLS)" \
		$(IMAGE) $(INITRAMFS) >$(CACHE)/run.tap; rc=$$?; \
	echo; grep -E 'arm64/pkvm_pvm|^not ok' $(CACHE)/run.tap || true; \
	echo "results: $(CACHE)/run.tap, console logs: $(CACHE)/logs/"; exit $$rc

attack: deps
	@$(S)/check.sh --suites attack

bench: initramfs
	@$(S)/bench.sh --base $(BASE_IMAGE) $(IMAGE) $(INITRAMFS)

fuzz: tree
	@$(S)/fuzz.sh --time $(FUZZ_TIME) $(CACHE)/linux

check-series: base
	@$(S)/check-series.sh

check: deps
	@$(S)/check.sh

shell: initramfs
	@cell=$(CELL); gic=$${cell%%-*}; \
	$(S)/boot-qemu.sh --gic $${gic#gic} --mode $${cell#*-} --suite shell \
		$(IMAGE) $(INITRAMFS)

clean:
	rm -rf $(CACHE)/build $(CACHE)/logs $(INITRAMFS)

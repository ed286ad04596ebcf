#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian/Ubuntu packages the harness needs (with sudo when not
# root). Does nothing when everything is already there.
set -eu
. "$(dirname "$0")/lib.sh"

# ipxe-qemu: the option ROM of the virt machine's default NIC, which QEMU
# loads at start and refuses to boot without (a Recommends of
# qemu-system-arm, not installed with --no-install-recommends).
# device-tree-compiler: fdtput, to boot with the ITS disabled.
# The shellcheck package: make check runs it over the scripts.
PKGS="gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
qemu-system-arm ipxe-qemu sparse ccache make gcc flex bison bc libssl-dev libelf-dev
cpio xz-utils git debian-archive-keyring perl python3 python3-ply rsync device-tree-compiler
shellcheck"

case "${1:-}" in
-h|--help)
	echo "usage: ${0##*/}"
	echo
	echo "Installs with apt-get, when missing: $PKGS" | fmt -w 75
	exit 0 ;;
"") ;;
*) exit 2 ;;
esac

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -n "$missing" ] || exit 0
command -v apt-get >/dev/null || die "not a Debian/Ubuntu system; install by hand:$missing"
msg "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get -q update >/dev/null || die "apt-get update failed"
# shellcheck disable=SC2086
as_root apt-get -q install -y --no-install-recommends $missing >/dev/null ||
	die "could not install:$missing"

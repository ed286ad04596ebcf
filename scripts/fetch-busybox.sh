#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's busybox-static for arm64 (for the test initramfs) through
# the private apt configuration, and print the path of the binary.
set -eu
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
-h|--help)
	cat <<EOT
usage: ${0##*/}

Downloads busybox-static (arm64) from Debian bookworm into $CACHE/busybox
once, through a private apt configuration under $APT_DIR-arm64, and prints
the path of the static busybox binary.
Environment: PKVM_ITS_CACHE, DEBIAN_MIRROR.
EOT
	exit 0 ;;
"") ;;
*) exit 2 ;;
esac

out=$CACHE/busybox
bin=$out/bin/busybox
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

APT_DIR=$CACHE/apt-arm64
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$out"
echo "deb [signed-by=$KEYRING] $MIRROR bookworm main" >"$APT_DIR/sources.list"
arm64="-o APT::Architecture=arm64 -o APT::Architectures=arm64"
msg "fetching busybox-static (arm64)"
# shellcheck disable=SC2086
if ! apt_priv apt-get $arm64 update >"$APT_DIR/update.log" 2>&1 ||
   grep -qE '^(Err:|E: |W: Failed to fetch)' "$APT_DIR/update.log"; then
	grep -E '^(Err:|E: |W: )' "$APT_DIR/update.log" | head -n 3 >&2
	die "cannot reach $MIRROR bookworm: check the network or set DEBIAN_MIRROR"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
(cd "$tmp" && apt_priv apt-get $arm64 download busybox-static:arm64 >&2) ||
	die "download of busybox-static:arm64 failed"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/root"
install -D -m 755 "$tmp/root/bin/busybox" "$bin"
echo "$bin"

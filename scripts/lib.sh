# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Common settings for the harness scripts. Sourced, never run.
#
# Every path the harness writes to lives under $CACHE, so that a checkout of
# this project stays clean and several checkouts can share one download.

# Each variable below is used by some of the scripts that source this
# file, not by all: SC2034 is silenced for them.
# shellcheck disable=SC2034
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PKVM_ITS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pkvm-its}

# The pinned base: Debian's linux-source-7.3 from trixie-backports.
# shellcheck disable=SC2034
BASE_PKG=linux-source-7.3
BASE_DEB_VERSION=${BASE_DEB_VERSION:-7.3.4-1~bpo13+1}
# shellcheck disable=SC2034
BASE_SERIES=7.3
# shellcheck disable=SC2034
BASE_REPO=$CACHE/linux-base.git	# bare-ish repository holding tag "base"
TREE=${TREE:-$CACHE/linux}		# work tree with the series applied
# shellcheck disable=SC2034
BRANCH=pkvm-its

# The QEMU test matrix: GICv3 or GICv4 (QEMU's gic-version=3/4), hVHE or
# nVHE. Every script that walks cells takes its default from here.
ALL_CELLS="gic3-hvhe gic3-nvhe gic4-hvhe gic4-nvhe"

ARCH=arm64
CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}
export ARCH CROSS_COMPILE

JOBS=${JOBS:-$(($(nproc) + 1))}

msg()
{
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

die()
{
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# Print elapsed seconds since the first call of "stamp" in this process.
stamp()
{
	: "${STAMP0:=$(date +%s)}"
	echo $(($(date +%s) - STAMP0))
}

# Run as root, or through sudo when not root.
as_root()
{
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (no sudo found)"
	fi
}

need_cross()
{
	command -v "${CROSS_COMPILE}gcc" >/dev/null 2>&1 ||
		die "cross compiler ${CROSS_COMPILE}gcc not found: run 'make deps' or install gcc-aarch64-linux-gnu"
}

# Private apt configuration: never touch the system's sources.
APT_DIR=$CACHE/apt
# usage: apt_priv apt-get|apt-cache args...
apt_priv()
{
	local tool=$1

	shift
	"$tool" -q \
		-o Dir::Etc::SourceList="$APT_DIR/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$APT_DIR/lists" \
		-o Dir::Cache="$APT_DIR/cache" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root \
		"$@"
}

# cell_matches PATTERNS CELL: is CELL (e.g. gic3-hvhe) in the comma-separated
# list of shell patterns PATTERNS (e.g. "gic3-*,gic4-nvhe")?
cell_matches()
{
	local IFS=, p
	local -

	set -f		# the patterns are for the cell, not for file names
	for p in $1; do
		# shellcheck disable=SC2254
		case $2 in
		$p) return 0 ;;
		esac
	done
	return 1
}

# table_lookup FILE KEY CELL: the rest of the first line of FILE (columns
# "key cells rest...", # comments) whose key is KEY and cells match CELL.
table_lookup()
{
	local key cells rest

	[ -f "$1" ] || return 1
	while read -r key cells rest; do
		case $key in
		""|\#*) continue ;;
		esac
		if [ "$key" = "$2" ] && cell_matches "$cells" "$3"; then
			echo "$rest"
			return 0
		fi
	done <"$1"
	return 1
}

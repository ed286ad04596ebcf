#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build an arm64 kernel Image out of tree, incrementally, with the config
# fragment kept in this repository.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} SRC_TREE OUT_DIR [make targets...]

Configures OUT_DIR from allnoconfig + configs/pkvm-its.config (again only
when the fragment changed) and builds Image (or the given targets) with
${CROSS_COMPILE}gcc, through ccache when installed. Prints OUT_DIR's Image
path on stdout. The full log is OUT_DIR/build.log.
Environment: JOBS (default $JOBS), CROSS_COMPILE, EXTRA_MAKEFLAGS.
EOT
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
esac
[ $# -ge 2 ] || { usage >&2; exit 2; }
src=$1 out=$2
shift 2
[ -f "$src/Makefile" ] || die "$src is not a kernel tree"
need_cross
mkdir -p "$out"

cc=${CROSS_COMPILE}gcc
if command -v ccache >/dev/null 2>&1; then
	export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
	cc="ccache $cc"
fi
kmake()
{
	# shellcheck disable=SC2086 # EXTRA_MAKEFLAGS holds several words
	make -s -C "$src" O="$out" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" \
		CC="$cc" ${EXTRA_MAKEFLAGS:-} "$@"
}

frag=$TOP/configs/pkvm-its.config
configure()
{
	kmake allnoconfig &&
	(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" "$frag") &&
	kmake olddefconfig
}

frag=$TOP/configs/pkvm-its.config
if ! cmp -s "$frag" "$out/.pkvm-its.config"; then
	msg "configuring $out"
	configure >"$out/build.log" 2>&1 || {
		tail -n 20 "$out/build.log" >&2
		die "configuration failed in $out, see $out/build.log"
	}
	# Every option the fragment sets must have survived the merge.
	grep -E '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' "$frag" |
	while read -r line; do
		grep -qxF "$line" "$out/.config" ||
			die "config option lost in $out/.config: $line"
	done
	cp "$frag" "$out/.pkvm-its.config"
fi

[ $# -gt 0 ] || set -- Image
msg "building $* in $out (about 4 minutes cold, seconds when incremental)"
if ! kmake -j"$JOBS" "$@" >>"$out/build.log" 2>&1; then
	grep -E 'error|Error' "$out/build.log" | tail -n 20 >&2
	die "build failed in $out, see $out/build.log"
fi
echo "$out/arch/arm64/boot/Image"

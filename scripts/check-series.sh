#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Consistency check of the series: it applies to a clean base, the overlay
# equals what it produces, every patch passes checkpatch --strict, builds
# on its own, and adds no sparse warning. Prints TAP.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--quick | --overlay | --tree]

Builds the unpatched base in a scratch work tree ($CACHE/check, output
$CACHE/build/check, its Image kept as $CACHE/build/base/arch/arm64/boot/Image),
applies patches/ there with "git am", then:
  1. compares every file the series adds with the overlay in this repo
     (different, missing or extra files are named);
  2. runs scripts/checkpatch.pl --strict on every patch: no error, warning
     or check, except the "does MAINTAINERS need updating" note when the
     series updates MAINTAINERS;
  3. builds, after every patch, the kernel directories it touches (KVM
     and the GIC drivers for a header under include/), and the kvm
     selftests after a patch that touches them; then the whole Image at
     the tip. Incrementally in $CACHE/build/check, which holds the series
     kernel at the end;
  4. runs sparse (make C=2) over the C files the series touches, failing
     on any warning the base does not have.
--quick does 1 and 2 only, and builds nothing; --overlay only 1. Output is TAP; exit status 1 on any failure.
--tree only makes $CACHE/check hold the series (nothing when it already
holds exactly patches/), for "make run" to build where "make check" did.
EOT
}

quick=
tree_only=
overlay_only=
case "${1:-}" in
-h|--help) usage; exit 0 ;;
--quick) quick=1 ;;
--overlay) quick=1 overlay_only=1 ;;
--tree) quick=1 tree_only=1 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

"$TOP/scripts/fetch-base.sh"
# The scratch tree; scripts/test-harness.sh points it elsewhere so that its
# deliberately broken runs never touch the tree make check tests.
CHK=${CHECK_TREE:-$CACHE/check}
OUT=$CACHE/build/check
# What $CHK holds once patches/ is applied: the patches' hash and the commit.
STAMP=$CHK.stamp
patches_hash=$(cat "$TOP"/patches/*.patch | sha1sum | cut -c1-40)
if [ -n "$tree_only" ] && [ -f "$STAMP" ] &&
   [ "$(cat "$STAMP")" = "$patches_hash $(git -C "$CHK" rev-parse HEAD 2>/dev/null)" ]; then
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

result()	# result OK|FAIL name [details file]
{
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
		[ -z "${3:-}" ] || sed 's/^/# /' "$3"
	fi
}

# Exactly what a user runs: git am patches/*.patch.
patches=$(ls "$TOP"/patches/*.patch 2>/dev/null || true)
[ -n "$patches" ] || die "no patches in $TOP/patches"

# sparse over single objects; prints "file: message" for the files the
# series touches, line numbers dropped, once each.
sparse_warnings()	# out objects...
{
	local out=$1

	shift
	make -s -C "$CHK" O="$out" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" \
		C=2 CHECK="sparse" CF="-D__typeof_unqual__=__typeof__" "$@" 2>&1 >/dev/null |
		grep -E ': (warning|error):' |
		sed -E -e "s|^$CHK/||" -e 's/^([^:]+):[0-9]+:[0-9]+:/\1:/' |
		grep -F -f "$tmp/touched" | sort -u || true
}

# 0. The base itself: build it (the unpatched kernel is tested too) and
# record its sparse warnings in the directories the series touches.
msg "preparing a clean base in $CHK"
if [ ! -d "$CHK" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$CHK" base
fi
cd "$CHK"
git am --abort >/dev/null 2>&1 || true
git checkout -q -f --detach base
git clean -q -fdx
# The base is built where the series will be, so that the series only
# recompiles what it changes; its Image is kept in $CACHE/build/base.
BASE_IMAGE=$CACHE/build/base/arch/arm64/boot/Image
if [ -z "$quick" ]; then
	t0=$(date +%s)
	if "$TOP/scripts/build-kernel.sh" "$CHK" "$OUT" >/dev/null 2>"$tmp/build" &&
	   mkdir -p "${BASE_IMAGE%/*}" && cp "$OUT/arch/arm64/boot/Image" "$BASE_IMAGE"; then
		result OK "base kernel builds ($(($(date +%s) - t0)) s)"
	else
		result FAIL "base kernel builds" "$tmp/build"
	fi
fi
# The kernel C files the series touches, as kbuild objects (the nVHE
# hypervisor's objects are *.nvhe.o), and every kernel file it touches.
# shellcheck disable=SC2086 # the patch files
sed -n 's|^diff --git a/\(.*\) b/.*|\1|p' $patches | sort -u |
	grep -vE '^(tools|Documentation)/' >"$tmp/touched" || true
objs=$(grep '\.c$' "$tmp/touched" | sed -e 's|^\(arch/arm64/kvm/hyp/nvhe/.*\)\.c$|\1.nvhe.o|' \
	-e 's|\.c$|.o|' || true)
: >"$tmp/sp.base"
if [ -z "$quick" ] && [ -n "$objs" ] && command -v sparse >/dev/null; then
	# shellcheck disable=SC2086 # one word per object
	msg "sparse over the base: $(printf '%s ' $objs)"
	# Objects the base does not have yet are simply not built.
	for o in $objs; do
		[ -f "$CHK/${o%.nvhe.o}.c" ] || [ -f "$CHK/${o%.o}.c" ] || continue
		echo "$o"
	done >"$tmp/base-objs"
	# shellcheck disable=SC2046
	[ ! -s "$tmp/base-objs" ] ||
		sparse_warnings "$OUT" $(cat "$tmp/base-objs") >"$tmp/sp.base"
fi

# 1. Apply.
msg "applying patches/ in $CHK"
: >"$tmp/am"
for p in $patches; do
	if ! git am -q "$p" >>"$tmp/am" 2>&1; then
		git am --abort >/dev/null 2>&1 || true
		echo "patches/${p##*/} does not apply" >>"$tmp/am"
		result FAIL "series applies to the base" "$tmp/am"
		echo "1..$n"
		exit 1
	fi
done
result OK "series applies to the base ($(echo "$patches" | wc -l) patches)"
echo "$patches_hash $(git rev-parse HEAD)" >"$STAMP"
[ -z "$tree_only" ] || exit 0

# 2. Overlay.
git diff --name-only --diff-filter=A base HEAD | sort >"$tmp/added"
(cd "$TOP" && for d in arch drivers include tools Documentation; do
	[ -d "$d" ] && find "$d" -type f
done) | sort >"$tmp/overlay"
{
	comm -23 "$tmp/added" "$tmp/overlay" | sed 's/^/missing from the overlay: /'
	comm -13 "$tmp/added" "$tmp/overlay" |
		sed 's/^/extra in the overlay (the series does not add it): /'
} >"$tmp/ovl"
comm -12 "$tmp/added" "$tmp/overlay" | while read -r f; do
	cmp -s "$f" "$TOP/$f" || echo "differs from what the series produces: $f"
done >>"$tmp/ovl"
if [ -s "$tmp/ovl" ]; then
	result FAIL "overlay equals the files the series adds" "$tmp/ovl"
else
	result OK "overlay equals the files the series adds ($(wc -l <"$tmp/added") files)"
fi

if [ -n "$overlay_only" ]; then
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
fi

# 3. checkpatch, $JOBS patches at a time (it is single-threaded).
touches_maintainers=$(git diff --name-only base HEAD -- MAINTAINERS)
mkdir "$tmp/cp"
# shellcheck disable=SC2016,SC2086 # $1 is for the inner shell; one patch per word
printf '%s\n' $patches | xargs -P "$JOBS" -I{} sh -c \
	'scripts/checkpatch.pl --strict --no-color --showfile "$1" >"$2/${1##*/}" 2>&1 || true' \
	sh {} "$tmp/cp"
for p in $patches; do
	name=${p##*/}
	# The only tolerated report: the generic MAINTAINERS note.
	if [ -n "$touches_maintainers" ]; then
		sed -i '/does MAINTAINERS need updating/,/^$/d' "$tmp/cp/$name"
	fi
	if grep -qE '^(ERROR|WARNING|CHECK)|: (ERROR|WARNING|CHECK):' "$tmp/cp/$name"; then
		result FAIL "checkpatch --strict $name" "$tmp/cp/$name"
	else
		result OK "checkpatch --strict $name"
	fi
done

if [ -n "$quick" ]; then
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
fi

# 4. Every patch builds. A patch can only break the objects of the
# directories it touches; a header under include/ those of the series'
# users (KVM and the GIC drivers). Each patch builds those, incrementally,
# and the tip builds the whole Image, which also links everything.
targets()	# commit: the make targets that prove it builds
{
	if [ "$1" = "$tip" ]; then
		echo Image
		return
	fi
	git diff --name-only "$1~1" "$1" | awk '
		/^(tools|Documentation)\// { next }
		/^(arch\/arm64\/)?include\// { print "arch/arm64/kvm/"; print "drivers/irqchip/"; next }
		/^arch\/arm64\/kvm\// { print "arch/arm64/kvm/"; next }
		/^drivers\/[^\/]*\// { split($0, p, "/"); print "drivers/" p[2] "/"; next }
		/\.c$/ { sub(/[^\/]*$/, ""); print }' | sort -u
}

tip=$(git rev-parse HEAD)
for c in $(git rev-list --reverse base.."$tip"); do
	git checkout -q --detach "$c"
	subj=$(git log -1 --format=%s "$c")
	t0=$(date +%s)
	t=$(targets "$c")
	# shellcheck disable=SC2086 # one word per target
	if [ -z "$t" ] || "$TOP/scripts/build-kernel.sh" "$CHK" "$OUT" $t >/dev/null 2>"$tmp/build"; then
		if git diff --quiet "$c~1" "$c" -- tools/testing/selftests/kvm ||
		   "$TOP/scripts/build-selftests.sh" "$CHK" "$OUT" >/dev/null 2>"$tmp/build"; then
			result OK "builds: $subj ($(($(date +%s) - t0)) s)"
			continue
		fi
	fi
	result FAIL "builds: $subj" "$tmp/build"
done

# 5. sparse over the C files the series touches.
if [ -z "$objs" ]; then
	result OK "sparse: the series touches no kernel C file"
elif ! command -v sparse >/dev/null; then
	echo "sparse not installed" >"$tmp/sp"
	result FAIL "sparse" "$tmp/sp"
else
	t0=$(date +%s)
	# shellcheck disable=SC2086
	sparse_warnings "$OUT" $objs >"$tmp/sp.series"
	# shellcheck disable=SC2086
	nobjs=$(printf '%s\n' $objs | wc -l)
	comm -13 "$tmp/sp.base" "$tmp/sp.series" >"$tmp/sp"
	if [ -s "$tmp/sp" ]; then
		result FAIL "sparse: no new warnings in the $nobjs objects the series touches" "$tmp/sp"
	else
		result OK "sparse: no new warnings in the $nobjs objects the series touches ($(($(date +%s) - t0)) s)"
	fi
fi

echo "1..$n"
[ "$failed" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of the harness itself: the consistency check must catch a broken
# overlay and a broken patch, and say which file is wrong. Prints TAP.
set -eu
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
-h|--help)
	cat <<EOT
usage: ${0##*/}

Copies this repository to a scratch directory, breaks it in one way at a
time (one line of an overlay file; a patch so that it no longer applies;
the base version given as KERNEL_SRC; an unreachable mirror; a missing
cross compiler; attack results that the base does not see or that differ
from the expectations) and checks that the harness fails with a message
naming what is wrong. Then runs shellcheck over the scripts.
EOT
	exit 0 ;;
"") ;;
*) exit 2 ;;
esac

tmp=$(mktemp -d)
# Never the tree make check tests: these runs break the series on purpose.
export CHECK_TREE=$CACHE/check-harness
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
result()
{
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
		sed 's/^/# /' "$tmp/out" | tail -n 10
	fi
}

copy()
{
	rm -rf "$tmp/p"
	mkdir "$tmp/p"
	(cd "$TOP" && tar --exclude=.git -cf - .) | tar -C "$tmp/p" -xf -
}

# expect_failure "what" "message pattern" command...
expect_failure()
{
	local what=$1 pat=$2

	shift 2
	if "$@" >"$tmp/out" 2>&1; then
		result fail "$what: the check passed"
	elif grep -qF -- "$pat" "$tmp/out"; then
		result ok "$what: fails, naming $pat"
	else
		result fail "$what: fails without naming $pat"
	fi
}

# 1. One line of an overlay file changed.
copy
f=$(cd "$tmp/p" && find arch drivers include tools Documentation -type f 2>/dev/null | sort | head -n 1)
if [ -n "$f" ]; then
	sed -i '1s/$/ /' "$tmp/p/$f"
	expect_failure "overlay file edited" "$f" "$tmp/p/scripts/check-series.sh" --overlay
else
	echo "ok $((n += 1)) overlay file edited # SKIP the series adds no file"
fi

# 2. A patch that no longer applies: change a context line of its diff.
copy
p=$(find "$tmp/p/patches" -name '*.patch' | sort | head -n 1)
awk 'BEGIN { done = 0 }
     /^@@ / { hunk = 1 }
     hunk && !done && /^ [^ ]/ { print " xx" substr($0, 2); done = 1; next }
     { print }' "$p" >"$p.new" && mv "$p.new" "$p"
expect_failure "patch broken" "${p##*/}" "$tmp/p/scripts/check-series.sh" --overlay

# 3. A KERNEL_SRC that is not 7.3.y.
mkdir -p "$tmp/k"
printf 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n' >"$tmp/k/Makefile"
expect_failure "KERNEL_SRC 6.12" "this series needs 7.3.y" \
	env KERNEL_SRC="$tmp/k" PKVM_ITS_CACHE="$tmp/cache" "$TOP/scripts/fetch-base.sh"

# 4. An unreachable package mirror.
expect_failure "unreachable mirror" "cannot reach" \
	env DEBIAN_MIRROR=http://127.0.0.1:9/debian PKVM_ITS_CACHE="$tmp/cache" \
	"$TOP/scripts/fetch-base.sh"

# 5. A missing cross compiler.
expect_failure "missing cross compiler" "cross compiler" \
	env CROSS_COMPILE=no-such-cross- "$TOP/scripts/build-kernel.sh" "$tmp/k" "$tmp/o"

# 6, 7. The attack report: a base that does not see an attack, and a
# series result that differs from the expectation, must both fail.
fake_logs()	# base-result-of-first-attack series-result-of-first-attack
{
	local k c a r first

	rm -rf "$tmp/ac"
	mkdir -p "$tmp/ac/logs"
	first=$(awk '!/^[[:space:]]*(#|$)/ { print $1; exit }' "$TOP/tests/attack-expect.txt")
	for k in base series; do
		for c in $ALL_CELLS; do
			awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$TOP/tests/attack-expect.txt" |
			sort -u | while read -r a; do
				if [ "$k" = base ]; then
					r=landed
					[ "$a" != "$first" ] || r=$1
				else
					r=$(PKVM_ITS_CACHE="$tmp/ac" bash -c ". '$TOP/scripts/lib.sh'; table_lookup '$TOP/tests/attack-expect.txt' $a $c")
					[ "$a" != "$first" ] || r=$2
				fi
				# What init.sh shows of a kselftest_harness test.
				echo "# #  RUN           fam.$a ..."
				case $r in
				blocked) echo "# ok 1 fam.$a" ;;
				landed) echo "# # attack landed: canary changed"
					echo "# not ok 1 fam.$a" ;;
				*) echo "# ok 1 fam.$a # SKIP reason" ;;
				esac
			done | sed '1i # arm64/pkvm_its_fake' >"$tmp/ac/logs/$k-$c.log"
		done
	done
}
want=$(awk '!/^[[:space:]]*(#|$)/ { print $3; exit }' "$TOP/tests/attack-expect.txt")
other=landed
[ "$want" != landed ] || other=blocked
fake_logs landed "$want"
if PKVM_ITS_CACHE="$tmp/ac" "$TOP/scripts/attack-report.sh" >"$tmp/out" 2>&1; then
	result ok "attack report passes consistent results"
else
	result fail "attack report passes consistent results"
fi
fake_logs blocked "$want"
expect_failure "attack blocked on the base" "does not see its attack" \
	env PKVM_ITS_CACHE="$tmp/ac" "$TOP/scripts/attack-report.sh"
fake_logs landed "$other"
expect_failure "series result differs from the expectation" "expected $want" \
	env PKVM_ITS_CACHE="$tmp/ac" "$TOP/scripts/attack-report.sh"

# The scripts themselves: shellcheck, every finding (notes included).
if (cd "$TOP" && shellcheck -x -P SCRIPTDIR -f gcc scripts/*.sh tests/init.sh \
	tests/host/*.sh) >"$tmp/out" 2>&1; then
	result ok "shellcheck: no finding in the scripts"
else
	result fail "shellcheck: no finding in the scripts"
fi

echo "1..$n"
[ "$failed" -eq 0 ]

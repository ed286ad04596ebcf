#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge the attack suite's results from the console logs of the base and
# series kernels, print TAP and a table attack x kernel x cell.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--expect FILE] [--cells "CELLS"]

Reads the "ATTACK <name> kernel=<k> gic=<g> mode=<m> result=<r>" lines
of $CACHE/logs/{base,series}-CELL.log, then -CELL-maxcpus1.log and
-CELL-itsoff.log (written by scripts/run-matrix.sh; the last result counts)
and checks them:
  base:   every attack reports landed, or n/a with a reason where the cell
          cannot express it; "blocked" on the base means the test cannot
          see its attack, a broken test.
  series: every attack reports what FILE (default tests/attack-expect.txt)
          expects for that cell; a deviation either way fails.
An attack of FILE that is missing from a log fails too.
EOT
}

expect=$TOP/tests/attack-expect.txt
cells="gic3-hvhe gic3-nvhe gic4-hvhe gic4-nvhe"
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--expect) expect=$2; shift 2 ;;
	--cells) cells=$2; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -f "$expect" ] || die "no expectation file $expect"
logs=$CACHE/logs

# The expected result of attack $1 on the series kernel in cell $2.
expected()
{
	table_lookup "$expect" "$1" "$2"
}

attacks=$(awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$expect" | awk '!s[$0]++')
n=0 failed=0 landed_base=0
table=$(mktemp)
trap 'rm -f "$table"' EXIT
for a in $attacks; do
	row="$a"
	for k in base series; do
		for c in $cells; do
			log=$logs/$k-$c.log
			logs2="$log $logs/$k-$c-maxcpus1.log $logs/$k-$c-itsoff.log"
			# shellcheck disable=SC2086 # three file names
			r=$(sed -n "s/^# ATTACK $a kernel=[a-z]* gic=[0-9] mode=[a-z]* result=\([a-z/]*\).*/\1/p" $logs2 2>/dev/null | tail -n 1)
			# shellcheck disable=SC2086
			why=$(sed -n "/^# ATTACK $a .*result=n\/a/{n;s/^#[ #]*//p}" $logs2 2>/dev/null | tail -n 1)
			[ "$r" = n/a ] || why=
			n=$((n + 1))
			ok=ok
			if [ -z "$r" ]; then
				ok="not ok"; r=missing; note="no result in $log"
			elif [ "$k" = base ]; then
				note=""
				case $r in
				landed) landed_base=$((landed_base + 1)) ;;
				n/a) [ -n "$why" ] || { ok="not ok"; note="n/a without a reason"; } ;;
				*) ok="not ok"; note="the test does not see its attack on the base" ;;
				esac
			else
				want=$(expected "$a" "$c")
				note=""
				[ "$r" = "$want" ] || { ok="not ok"; note="expected ${want:-nothing}"; }
			fi
			[ "$ok" = ok ] || failed=$((failed + 1))
			echo "$ok $n attack $a $k $c: $r${why:+ ($why)}${note:+ # $note}"
			row="$row $r"
		done
	done
	echo "$row" >>"$table"
done
{
	printf '%-28s' attack
	for k in base series; do for c in $cells; do printf ' %-15s' "${k:0:4}/${c}"; done; done
	echo
	while read -r a rest; do
		printf '%-28s' "$a"
		for r in $rest; do printf ' %-15s' "$r"; done
		echo
	done <"$table"
} | sed 's/^/# /'
n=$((n + 1))
if [ "$landed_base" -gt 0 ]; then
	echo "ok $n attacks that land on the base: $landed_base results"
else
	failed=$((failed + 1))
	echo "not ok $n no attack lands on the base"
fi
echo "1..$n"
[ "$failed" -eq 0 ]

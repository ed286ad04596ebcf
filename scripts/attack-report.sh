#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge the attack suite's results from the console logs of the base and
# series kernels, print one ATTACK line per attack, kernel and cell, TAP,
# and a table attack x kernel x cell.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--expect FILE] [--cells "CELLS"]

Reads the KTAP results of the attack tests (arm64/pkvm_its_*, one
kselftest_harness test per attack) in $CACHE/logs/{base,series}-CELL.log,
then -CELL-maxcpus1.log and -CELL-itsoff.log (written by
scripts/run-matrix.sh; the last result counts), and derives each attack's
result, printed as

  ATTACK <name> kernel=<base|series> gic=<3|4> mode=<hvhe|nvhe> result=<r>

with the kernel and cell of the log: a test that passed means the attack
was blocked, one that failed ("attack landed:") that it landed, one that
was skipped n/a (the skip reason follows on a comment line). A test that
failed without "attack landed:" broke by itself ("test error:", a timeout
or a crash): it shows as n/a with "test error: ..." and fails either way.
The results are then judged:
  base:   every attack reports landed, or n/a with a reason where the cell
          cannot express it; "blocked" on the base means the test cannot
          see its attack, a broken test.
  series: every attack reports what FILE (default tests/attack-expect.txt)
          expects for that cell; a deviation either way fails.
An attack of FILE that is missing from a log fails too.
EOT
}

expect=$TOP/tests/attack-expect.txt
cells=$ALL_CELLS
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

# derive LOG...: "name<TAB>result<TAB>why" for every attack test in the
# logs, in order (a later line for the same attack overrides an earlier).
# init.sh prefixes a test binary's output with "# " and announces it with
# "# arm64/<binary>"; within, the harness prints "#  RUN  fixture.name ...",
# diagnostics, and "ok N fixture.name [# SKIP reason]" or "not ok N ...".
derive()
{
	local f

	for f in "$@"; do
		[ -f "$f" ] || continue
		awk '
		function result(st, rest,    name, why) {
			name = rest
			sub(/ .*/, "", name)
			sub(/.*\./, "", name)
			why = ""
			if (st == "ok" && rest ~ / # SKIP/) {
				why = rest
				sub(/^[^#]*# SKIP ?/, "", why)
				return name "\tn/a\t" why
			}
			if (st == "ok")
				return name "\tblocked\t"
			if (landed)
				return name "\tlanded\t"
			return name "\tn/a\ttest error: " (err != "" ? err : "failed without a verdict")
		}
		/^# arm64\/pkvm_its_/ { in_test = 1; next }
		/^(not )?ok [0-9]+ / { in_test = 0; next }
		!in_test { next }
		/^# # +RUN / { landed = 0; err = ""; next }
		/attack landed:/ { landed = 1; next }
		/test error: / && err == "" {
			err = $0
			sub(/.*test error: /, "", err)
			next
		}
		/Test terminated|Test ended|Test exited|Test Assertion Failure/ && err == "" {
			err = $0
			sub(/^# # /, "", err)
			next
		}
		/^# ok [0-9]+ / { rest = $0; sub(/^# ok [0-9]+ /, "", rest); print result("ok", rest); next }
		/^# not ok [0-9]+ / {
			rest = $0
			sub(/^# not ok [0-9]+ /, "", rest)
			print result("not ok", rest)
			next
		}
		' "$f"
	done
}

attacks=$(awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$expect" | awk '!s[$0]++')
declare -A result reason
for k in base series; do
	for c in $cells; do
		while IFS=$'\t' read -r a r why; do
			result[$a $k $c]=$r
			reason[$a $k $c]=$why
		done < <(derive "$logs/$k-$c.log" "$logs/$k-$c-maxcpus1.log" "$logs/$k-$c-itsoff.log")
	done
done

n=0 failed=0 landed_base=0
table=$(mktemp)
trap 'rm -f "$table"' EXIT
for a in $attacks; do
	row="$a"
	for k in base series; do
		for c in $cells; do
			r=${result[$a $k $c]:-} why=${reason[$a $k $c]:-}
			[ "$r" = n/a ] || why=
			gic=${c%%-*} mode=${c#*-}
			n=$((n + 1))
			ok=ok note=""
			if [ -z "$r" ]; then
				ok="not ok" r=missing note="no result in $logs/$k-$c.log"
			else
				# The attack's result in this kernel and cell
				echo "ATTACK $a kernel=$k gic=${gic#gic} mode=$mode result=$r"
				[ -z "$why" ] || echo "# $why"
			fi
			case $why in
			"test error: "*) ok="not ok" note="the test broke" ;;
			esac
			if [ "$ok" != ok ]; then
				:
			elif [ "$k" = base ]; then
				case $r in
				landed) landed_base=$((landed_base + 1)) ;;
				n/a) [ -n "$why" ] || { ok="not ok"; note="n/a without a reason"; } ;;
				*) ok="not ok"; note="the test does not see its attack on the base" ;;
				esac
			else
				want=$(expected "$a" "$c")
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

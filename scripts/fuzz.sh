#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzz the ITS command validator of a kernel tree with its libFuzzer
# harness (tools/testing/pkvm-its/fuzz), or replay the checked-in corpus.
# Results on stdout, progress on stderr.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--time SECONDS] [--jobs N] [--regress] KERNEL_TREE

Builds tools/testing/pkvm-its/fuzz of KERNEL_TREE in $CACHE/build/fuzz
(nothing is written to the tree), then fuzzes for SECONDS (default 1800)
on N processes (default 2) sharing one working corpus, started from
tests/fuzz/corpus. Prints one line per metric, then
  fuzz: N executions, M execs/s, cov C, its_cmd.c lines L%, F oracle failures
and exits non-zero on any oracle failure, keeping the crash inputs in
$CACHE/fuzz/crashes (replay one with: FUZZ_TRACE=1 regress-bin FILE).

--regress  replays tests/fuzz/corpus with the ASan/UBSan build instead
           and prints TAP. Works with gcc when clang is absent.

Fuzzing needs clang with libFuzzer and llvm-cov of the same version
(CLANG=clang-16 picks one).
EOT
}

secs=1800
jobs=2
regress=
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help) usage; exit 0 ;;
	--time) [ $# -ge 2 ] || { usage >&2; exit 2; }; secs=$2; shift 2 ;;
	--jobs) [ $# -ge 2 ] || { usage >&2; exit 2; }; jobs=$2; shift 2 ;;
	--regress) regress=1; shift ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
case "$secs$jobs" in
*[!0-9]*) die "--time and --jobs take positive integers" ;;
esac
[ "$jobs" -gt 0 ] || die "--jobs must be at least 1"

tree=$(cd "$1" && pwd) || die "no kernel tree at $1"
src=$tree/tools/testing/pkvm-its/fuzz
[ -f "$src/fuzz.c" ] || die "$src/fuzz.c not found: not a tree with the ITS fuzzer"
seeds=$TOP/tests/fuzz/corpus
[ -d "$seeds" ] || die "no corpus in $seeds"
out=$CACHE/build/fuzz
work=$CACHE/fuzz
mkdir -p "$out" "$work"
clang_arg=()
[ -z "${CLANG:-}" ] || clang_arg=(CLANG="$CLANG")

fuzz_make()
{
	make -s -C "$src" OUTPUT="$out" ${clang_arg[@]+"${clang_arg[@]}"} "$@" >"$out/make.log" 2>&1 ||
		{ tail -n 20 "$out/make.log" >&2; die "build of $src failed, see $out/make.log"; }
}

if [ -n "$regress" ]; then
	msg "building the regress binary in $out"
	fuzz_make regress-bin
	n=$(find "$seeds" -type f | wc -l)
	# In a subshell, so that the shell's "Aborted" goes to the log too.
	if (REPLAY_VERBOSE=1 "$out/regress-bin" "$seeds") >"$work/regress.log" 2>&1; then
		echo "ok 1 fuzz corpus: $n inputs, 0 oracle failures"
		echo "1..1"
		exit 0
	fi
	bad=$(sed -n 's/^replay \(.*\) ([0-9]* bytes)$/\1/p' "$work/regress.log" | tail -n 1)
	echo "not ok 1 fuzz corpus: oracle failure in ${bad##*/}"
	grep -v '^replay ' "$work/regress.log" | tail -n 10 | sed 's/^/# /'
	echo "1..1"
	exit 1
fi

msg "building the fuzzer in $out"
fuzz_make fuzz cov-bin

rm -rf "$work/corpus" "$work/logs"
mkdir -p "$work/corpus" "$work/logs" "$work/crashes"
rm -f "$work"/crashes/crash-*
start=$(date +%s)
deadline=$((start + secs))

# One restart loop per job, all sharing $work/corpus (-reload=1 picks up
# the others' finds): an oracle failure ends a libFuzzer run, and the loop
# starts the next one, so that fuzzing goes on for the whole time and every
# failure is counted.
worker()	# worker N
{
	local left

	while left=$((deadline - $(date +%s))); [ "$left" -gt 0 ]; do
		"$out/fuzz" -max_total_time="$left" -max_len=1024 -reload=1 \
			-print_final_stats=1 -artifact_prefix="$work/crashes/" \
			"$work/corpus" "$seeds" >>"$work/logs/fuzz-$1.log" 2>&1 || true
	done
}

msg "fuzzing for ${secs}s on $jobs processes, logs in $work/logs"
for j in $(seq 1 "$jobs"); do
	: >"$work/logs/fuzz-$j.log"
	worker "$j" &
done
wait
elapsed=$(($(date +%s) - start))
[ "$elapsed" -gt 0 ] || elapsed=1
cat "$work"/logs/fuzz-*.log >"$work/fuzz.log"

execs=$(awk '/^stat::number_of_executed_units:/ { n += $2 } END { print n + 0 }' "$work/fuzz.log")
cov=$(sed -nE 's/^#[0-9]+.* cov: ([0-9]+).*/\1/p' "$work/fuzz.log" | sort -n | tail -n 1)
ft=$(sed -nE 's/^#[0-9]+.* ft: ([0-9]+).*/\1/p' "$work/fuzz.log" | sort -n | tail -n 1)
failures=$(grep -c '^ORACLE:' "$work/fuzz.log" || true)

msg "measuring its_cmd.c coverage of the corpus"
fuzz_make cov CORPUS="$work/corpus $seeds"
# Filename, regions (3), functions (3), lines (3), branches (3).
lines=$(awk '/its_cmd\.c/ { print $10; exit }' "$out/make.log")
branches=$(awk '/its_cmd\.c/ { print $13; exit }' "$out/make.log")

echo "executions: $execs"
echo "execs/s: $((execs / elapsed))"
echo "cov/ft: ${cov:-0}/${ft:-0}"
echo "corpus: $(find "$work/corpus" -type f | wc -l) files"
echo "its_cmd.c lines: ${lines:-?}"
echo "its_cmd.c branches: ${branches:-?}"
echo "oracle failures: $failures"
if [ "$failures" -gt 0 ]; then
	grep -h '^ORACLE:' "$work/fuzz.log" | sort | uniq -c | sort -rn | head -n 5 >&2
	msg "crash inputs in $work/crashes"
fi
echo "fuzz: $execs executions, $((execs / elapsed)) execs/s, cov ${cov:-0}," \
     "its_cmd.c lines ${lines:-?}, $failures oracle failures"
[ "$failures" -eq 0 ]

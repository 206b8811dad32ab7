#!/usr/bin/env bash
# Test of the exec/s benchmark's build and program (docs/fuzzing.md,
# "Benchmark"), run by ctest. It checks that the benchmark works, not how
# fast anything is: figures from a shared machine pass or fail nothing.
#
#   tests/test_fuzz_exec_bench.sh [SCRATCH_DIR]
#
# Builds the libfuzzer-asan preset (libFuzzer with ASan alone, the build
# the benchmark's aims are defined for) in SCRATCH_DIR (default: a
# temporary folder) with the virtq target, the empty target and
# fuzz-exec-bench, then checks:
#   - the build is what the preset says: emu/'s vcon_virtq_pop calls ASan
#     and not UBSan, and the empty target is compiled with ASan alone;
#   - a short run of fuzz-exec-bench on virtq names that build, prints a
#     rate and a ratio for each of its four measures, and prints virtq's aim.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck source=tests/shell_lib.sh
. "$root/tests/shell_lib.sh"
scratch=$(scratch_folder vcon-fuzz-exec-bench-test "${1:-}")
[ $# -ge 1 ] || trap 'rm -rf "$scratch"' EXIT
say() { echo "test_fuzz_exec_bench: $*"; }
die() { echo "test_fuzz_exec_bench: FAIL: $*" >&2; exit 1; }
for tool in clang cmake objdump; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (ci/install-deps installs it)"
done

build="$scratch/libfuzzer-asan"
say "building preset libfuzzer-asan in $build"
(cd "$root" && cmake --preset libfuzzer-asan -B "$build") > "$build.log" 2>&1 \
  || { tail -n 30 "$build.log" >&2; die "configuring libfuzzer-asan failed"; }
cmake --build "$build" -j "$jobs" --target fuzz_virtq fuzz_empty fuzz-exec-bench >> "$build.log" 2>&1 \
  || { tail -n 30 "$build.log" >&2; die "building libfuzzer-asan failed"; }
virtq="$build/fuzzers/fuzz_virtq"
empty="$build/bench/fuzz_empty"
bench="$build/bench/fuzz-exec-bench"
for f in "$virtq" "$empty" "$bench"; do
  [ -x "$f" ] || die "the build made no $f"
done

objdump -d --no-show-raw-insn "$virtq" > "$scratch/fuzz_virtq.s"
code=$(function_code "$scratch/fuzz_virtq.s" vcon_virtq_pop)
[ -n "$code" ] || die "fuzz_virtq has no function vcon_virtq_pop"
grep -q "call.*<__asan_" <<< "$code" || die "fuzz_virtq's vcon_virtq_pop has no ASan"
if grep -q "call.*<__ubsan_" <<< "$code"; then
  die "fuzz_virtq's vcon_virtq_pop has UBSan"
fi
# The UART keeps libFuzzer's edge counters without its comparison tracing;
# the virtio devices keep both (fuzzers/CMakeLists.txt says why).
cmp_calls() { # function
  function_code "$scratch/fuzz_virtq.s" "$1" | grep -c "call.*<__sanitizer_cov_trace_\(const_\)\?cmp" || true
}
uart_code=$(function_code "$scratch/fuzz_virtq.s" uart_update_irq)
[ -n "$uart_code" ] || die "fuzz_virtq has no function uart_update_irq"
grep -q 'addb \+\$0x1,0x[0-9a-f]*(%rip)' <<< "$uart_code" \
  || die "emu/'s uart_update_irq has no coverage counter"
[ "$(cmp_calls uart_update_irq)" -eq 0 ] || die "emu/'s uart_update_irq traces comparisons"
[ "$(cmp_calls vcon_virtq_pop)" -gt 0 ] || die "emu/'s vcon_virtq_pop lost its comparison tracing"
# The empty target has nothing for UBSan to check: its compile line tells.
flags=$(find "$build/bench" -path "*fuzz_empty.dir/flags.make" | head -n 1)
[ -n "$flags" ] || die "no compile flags for fuzz_empty"
grep -q -- "-fsanitize=address" "$flags" || die "fuzz_empty is not compiled with ASan"
if grep -q -- "-fsanitize=[a-z,]*undefined" "$flags"; then
  die "fuzz_empty is compiled with UBSan"
fi
say "the build has ASan alone"

out="$scratch/bench.txt"
"$bench" --seconds 0.05 --repeat 1 --target virtq "$build/fuzzers" "$empty" "$root/corpus" \
  > "$out" 2> "$scratch/bench.err" || { cat "$scratch/bench.err" >&2; die "fuzz-exec-bench failed"; }
cat "$out"
grep -q "^libFuzzer + ASan (this build's), executions per CPU second" "$out" || die "the header does not name the build"
# virtq's row: max_len, then four measures of rate, empty rate, ratio.
number='[0-9]+'
ratio='[0-9]+\.[0-9]%'
measure=" +$number +$number +$ratio( \|)?"
grep -Eq "^virtq +$number +\|($measure){4}$" "$out" || die "virtq's row lacks a figure"
grep -Eq "^aims, on the seeds: virtq [0-9.]+% \(aim 10%: (met|not met)\)$" "$out" \
  || die "no aim line for virtq"
if "$bench" --seconds 0.05 > /dev/null 2>&1; then
  die "fuzz-exec-bench accepted a missing argument"
fi

# A target that fails: its cells name what libFuzzer left (a crash- input
# in the artifact folder) or say "failed", and the empty target keeps its
# figures. Two stand-ins for fuzz_virtq, as scripts.
fake_row() { # body of the stand-in: its row
  local dir="$scratch/fake-$1"
  mkdir -p "$dir"
  printf '#!/bin/sh
%s
' "$2" > "$dir/fuzz_virtq"
  chmod +x "$dir/fuzz_virtq"
  "$bench" --seconds 0.05 --repeat 1 --target virtq "$dir" "$empty" "$root/corpus" \
    2> "$scratch/bench-$1.err" | grep "^virtq" \
    || { cat "$scratch/bench-$1.err" >&2; die "fuzz-exec-bench printed no row for the $1 target"; }
}
crash_body='for a; do case $a in -artifact_prefix=*) : > "${a#-artifact_prefix=}crash-0";; esac; done; exit 1'
row=$(fake_row crashing "$crash_body")
echo "$row"
grep -Eq "^virtq +$number +\|( +crash +$number +-( \|)?){4}$" <<< "$row" \
  || die "a crashing target's cells do not say crash"
row=$(fake_row failing 'exit 1')
echo "$row"
grep -Eq "^virtq +$number +\|( +failed +$number +-( \|)?){4}$" <<< "$row" \
  || die "a failing target's cells do not say failed"
say "ok"

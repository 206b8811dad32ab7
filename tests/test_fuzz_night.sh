#!/usr/bin/env bash
# Test of tools/vcon-fuzz-night (docs/overnight.md), run by ctest (label
# "slow"): a short run over every target in scratch builds, one of which
# has a crash planted in it.
#
#   tests/test_fuzz_night.sh [SCRATCH_DIR]
#
# 1. Builds, under SCRATCH_DIR (default: a temporary folder):
#    - the libfuzzer preset, linked with tools/fuzz_report/planted_crash.c
#      through -Wl,--wrap=vcon_uart_write: a guest write of 0xEE to the
#      UART's scratch register aborts, in the fuzz targets, their standalone
#      runners and vcon-replay alike; and through
#      -Wl,--wrap=vcon_uart_get_state: with 0xED in the scratch register the
#      UART's state breaks an invariant (IER bit 7 set), with 0xEC another
#      one at the same call site (MCR bit 7 set);
#    - the coverage preset, unchanged.
# 2. Copies corpus/ and adds to the uart seeds an input that makes that
#    write (the fuzzer finds it by itself as well: its comparison is
#    instrumented).
# 3. Runs `vcon-fuzz-night --seconds 45` on every target and checks:
#    exit 0; report.md, coverage.png and the coverage HTML are there;
#    exactly one unique crash, at the planted site, with a minimized trace
#    that vcon-replay reproduces (checked again here); and the planted
#    invariant, reported once, with a minimized trace that vcon-replay
#    --check reproduces (checked again here); the second invariant reported
#    apart from it.
# 4. The same with AFL++ (--engine afl) on the uart target, built by
#    afl-clang-fast with the same plants (first: the map afl-showmap gives
#    a uart or console seed does not depend on the seed run before it): the
#    planted crash found, one
#    deduplicated crash, reproduced; the planted seeds, which afl-fuzz
#    skips, run and reported by the runner; the corpus minimized by afl-cmin.
#    Then both engines taking turns (--engine both): each ran, each took in
#    what the other found, and the planted crash is one crash.
# 5. Interrupts a second run with SIGINT: it stops its fuzzers, still writes
#    its report, exits 130 and leaves no process behind.
# 6. A setup failure (a build folder that does not exist) exits 2 with a
#    message.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
night="$root/tools/vcon-fuzz-night"
jobs=$(nproc 2>/dev/null || echo 2)

# shellcheck source=tests/shell_lib.sh
. "$root/tests/shell_lib.sh"
scratch=$(scratch_folder vcon-fuzz-night-test "${1:-}")
say() { echo "test_fuzz_night: $*"; }
die() { echo "test_fuzz_night: FAIL: $*" >&2; exit 1; }

for tool in clang cmake llvm-cov llvm-profdata gnuplot python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run ci/install-deps as root)"
done

# ---- 1. the scratch builds ----------------------------------------------------
plant() { # folder, compiler and flags...: builds folder/libplanted_crash.a
  local dir=$1
  shift
  mkdir -p "$dir"
  "$@" -c -g -O1 -I "$root/emu/include" "$root/tools/fuzz_report/planted_crash.c" \
    -o "$dir/planted_crash.o"
  rm -f "$dir/libplanted_crash.a"
  ar rcs "$dir/libplanted_crash.a" "$dir/planted_crash.o"
}
planted="$scratch/planted"
plant "$planted" clang -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link

# The targets: fuzzers/fuzz_<target>.c files that define LLVMFuzzerTestOneInput.
targets=()
for f in "$root"/fuzzers/fuzz_*.c; do
  if grep -Eq '^int[[:space:]]+LLVMFuzzerTestOneInput[[:space:]]*\(.*[^;[:space:]][[:space:]]*$' "$f"; then
    name=$(basename "$f" .c)
    targets+=("${name#fuzz_}")
  fi
done
[ ${#targets[@]} -gt 0 ] || die "no fuzz target in fuzzers/"

build() { # preset, folder, "cmake targets", extra cmake arguments...
  local preset=$1 dir=$2 what=$3
  shift 3
  say "building preset $preset in $dir"
  (cd "$root" && cmake --preset "$preset" -B "$dir" -DVCON_BUILD_TESTS=OFF "$@") \
    > "$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; die "configuring $preset failed"; }
  # shellcheck disable=SC2086
  cmake --build "$dir" -j "$jobs" --target $what >> "$dir.log" 2>&1 \
    || { tail -n 30 "$dir.log" >&2; die "building $preset failed"; }
}
fuzz_programs="vcon-replay vcon-trace"
standalone_programs=""
for t in "${targets[@]}"; do
  fuzz_programs="$fuzz_programs fuzz_$t fuzz_${t}_standalone"
  standalone_programs="$standalone_programs fuzz_${t}_standalone"
done
# The archive goes last on each link line (CMAKE_C_STANDARD_LIBRARIES), so
# that only programs calling vcon_uart_write pull it in.
build libfuzzer "$scratch/libfuzzer" "$fuzz_programs" \
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--wrap=vcon_uart_write,--wrap=vcon_uart_get_state" \
  "-DCMAKE_C_STANDARD_LIBRARIES=$planted/libplanted_crash.a"
build coverage "$scratch/coverage" "$standalone_programs"
replay=$(find "$scratch/libfuzzer" -type f -name vcon-replay -perm -u+x | head -n 1)
uart_standalone=$(find "$scratch/libfuzzer" -type f -name fuzz_uart_standalone -perm -u+x | head -n 1)
if [ -z "$replay" ] || [ -z "$uart_standalone" ]; then
  die "the libfuzzer build has no vcon-replay or fuzz_uart_standalone"
fi

# The libFuzzer build leaves ASan and UBSan out of the harness and the
# targets (fuzzers/sanitizer_ignorelist.txt), for speed: emu/ must keep
# both. Counted as calls into each runtime in the functions' machine code.
console_fuzzer="$scratch/libfuzzer/fuzzers/fuzz_console"
[ -x "$console_fuzzer" ] || die "the libfuzzer build has no fuzzers/fuzz_console"
objdump -d --no-show-raw-insn "$console_fuzzer" > "$scratch/fuzz_console.s"
sanitizer_calls() { # the console fuzzer's function, runtime prefix (__asan_ or __ubsan_)
  function_code "$scratch/fuzz_console.s" "$1" | grep -c "call.*$2" || true
}
for f in vcon_console_create vcon_virtq_pop vcon_uart_read; do
  for rt in __asan_ __ubsan_; do
    n=$(sanitizer_calls "$f" "$rt")
    [ "$n" -gt 0 ] || die "libFuzzer build: emu/'s $f has no ${rt}* call: built without the sanitizer"
  done
done
# (Each has 8 to over 100 such calls in the sanitized standalone runner.)
for f in vcon_vm_write vcon_console_model_after fzc_run_op; do
  nm "$console_fuzzer" | grep " T $f\$" >/dev/null || die "libFuzzer build: fuzz_console has no function $f"
  n=$(( $(sanitizer_calls "$f" __asan_) + $(sanitizer_calls "$f" __ubsan_) ))
  [ "$n" -eq 0 ] || die "libFuzzer build: the harness's or target's $f has $n sanitizer calls"
done
say "libFuzzer build: emu/ has ASan and UBSan, the harness and the targets have neither"

# ---- 2. the seed corpus, with the planted input --------------------------------
corpus="$scratch/corpus"
rm -rf "$corpus"
mkdir -p "$corpus"
cp -R "$root/corpus/." "$corpus/"
mkdir -p "$corpus/uart"
# fuzz_uart's op stream: configuration byte 0, op 0 (a register write),
# register 7 with access size 1, value 0x00EE, then 0x01EE: two different
# inputs with one crash site, which must deduplicate to one crash.
printf '\x00\x00\x07\xee\x00' > "$corpus/uart/planted-scratch-0x00ee"
printf '\x00\x00\x07\xee\x01' > "$corpus/uart/planted-scratch-0x01ee"
# The same write of 0xED: the planted invariant; of 0xEC: another invariant
# broken at the same call site of fuzz_uart, which must stay apart.
printf '\x00\x00\x07\xed\x00' > "$corpus/uart/planted-invariant-0x00ed"
printf '\x00\x00\x07\xec\x00' > "$corpus/uart/planted-invariant-0x00ec"
for seed in "$corpus"/uart/planted-*; do
  if ASAN_OPTIONS=handle_abort=1 "$uart_standalone" "$seed" > "$scratch/planted-seed.log" 2>&1; then
    say "note: $(basename "$seed") no longer reaches the planted crash (fuzz_uart's op" \
        "format changed?): the run has to find it by fuzzing"
  fi
done

# ---- 3. a short run --------------------------------------------------------------
out="$scratch/out"
rm -rf "$out"
say "running vcon-fuzz-night for 45 s on every target"
status=0
"$night" --seconds 45 --jobs "$jobs" --seed 1 --status-interval 15 --out "$out" \
  --corpus "$corpus" --libfuzzer-build "$scratch/libfuzzer" \
  --coverage-build "$scratch/coverage" --minimize-timeout 300 || status=$?
[ "$status" -eq 0 ] || die "vcon-fuzz-night exited $status"

[ -s "$out/report.md" ] || die "no report.md"
[ -s "$out/coverage/html/index.html" ] || die "no coverage HTML"
[ "$(head -c 4 "$out/coverage.png" | od -An -tx1 | tr -d ' \n')" = "89504e47" ] \
  || die "coverage.png is not a PNG"
grep -q "^## Coverage of emu/" "$out/report.md" || die "report.md has no coverage section"
grep -Eq '^\| \*\*new\*\* \| \*\*\+[0-9]+\*\*' "$out/report.md" || die "report.md has no new-coverage line"

python3 - "$out/summary.json" "$root" <<'EOF' || die "the crash is not reported as expected (see $out/report.md)"
import json, os, sys
summary = json.load(open(sys.argv[1]))
root = sys.argv[2]
crashes = summary["crashes"]
planted = [c for c in crashes
           if c["site"].startswith("planted_crash tools/fuzz_report/planted_crash.c:")]
assert len(planted) == 1, "expected the planted crash exactly once, got %d: %s" % (
    len(planted), [c["site"] for c in crashes])
c = planted[0]
assert "uart" in c["targets"], c["targets"]
assert c["inputs"] >= 2, "the two planted seeds were not deduplicated into one crash: %d" % c["inputs"]
assert c["minimized_trace"], "no minimized trace"
assert c["reproduced"] is True, "vcon-replay did not reproduce it"
assert c["replay_command"], "no replay command"
invariant = "invariant violated: uart regs: IER keeps bits 0-3 only"
broken = [x for x in crashes if x["kind"] == invariant]
assert len(broken) == 1, "expected the planted invariant exactly once, got %d: %s" % (
    len(broken), [x["kind"] for x in crashes])
inv = broken[0]
assert inv["minimized_trace"], "no minimized trace for the invariant"
assert inv["reproduced"] is True, "vcon-replay --check did not reproduce the invariant"
assert "--check" in inv["replay_command"], inv["replay_command"]
other_invariant = "invariant violated: uart regs: MCR keeps bits 0-4 only"
broken2 = [x for x in crashes if x["kind"] == other_invariant]
assert len(broken2) == 1, ("expected the second planted invariant exactly once, apart from the "
                           "first although both break at one site, got %d: %s" % (
                               len(broken2), [(x["kind"], x["site"]) for x in crashes]))
assert broken2[0]["site"] == inv["site"], (broken2[0]["site"], inv["site"])
assert broken2[0]["reproduced"] is True, "vcon-replay --check did not reproduce the second invariant"
# Crashes the other targets really have are findings, not test failures.
for other in crashes:
    if other is not c and other is not inv and other is not broken2[0]:
        print("test_fuzz_night: note: the run also found %s in %s (%s)"
              % (other["kind"], other["site"], ", ".join(other["targets"])))
names = [t["name"] for t in summary["targets"]]
# Every target is in the report; the one with the planted crash was fuzzed.
# (Whether the other targets are any good is their own tests' business.)
import re
defines = re.compile(r"^int\s+LLVMFuzzerTestOneInput\s*\(.*[^;\s]\s*$", re.M)
folder = os.path.join(root, "fuzzers")
expected = sorted(f[5:-2] for f in os.listdir(folder)
                  if f.startswith("fuzz_") and f.endswith(".c")
                  and defines.search(open(os.path.join(folder, f)).read()))
assert sorted(names) == expected, (names, expected)
uart = next(t for t in summary["targets"] if t["name"] == "uart")
assert uart["execs"] > 0 and uart["corpus_after"] > 0, uart
print("test_fuzz_night: the planted crash at %s, %d input(s), and the planted invariant at %s; "
      "targets %s" % (c["site"], c["inputs"], inv["site"], ", ".join(names)))
EOF
grep -q "^### [0-9]*\. .* in planted_crash tools/fuzz_report/planted_crash.c:" "$out/report.md" \
  || die "report.md does not list the planted crash"
grep -q "^- replay: \`" "$out/report.md" || die "report.md has no replay command"

# Replay the minimized trace ourselves: vcon-replay must crash at the site.
mintrace=$(find "$out/crashes" -path "*planted_crash*" -name crash.min.pcap.zst | head -n 1)
[ -n "$mintrace" ] || die "no crash.min.pcap.zst"
set +e
ASAN_OPTIONS=handle_abort=1:symbolize=1 "$replay" "$mintrace" > "$scratch/replay.log" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || die "vcon-replay $mintrace did not crash"
grep -q "planted_crash" "$scratch/replay.log" || die "vcon-replay crashed elsewhere (see $scratch/replay.log)"
say "vcon-replay reproduces $mintrace (exit $rc)"

# And the invariant's: vcon-replay --check exits 3 naming it.
mininv=$(python3 - "$out/summary.json" "$root" <<'EOF'
import json, os, sys
summary = json.load(open(sys.argv[1]))
for c in summary["crashes"]:
    if c["kind"] == "invariant violated: uart regs: IER keeps bits 0-3 only" and c["minimized_trace"]:
        print(os.path.join(sys.argv[2], c["minimized_trace"]))
EOF
)
[ -n "$mininv" ] && [ -f "$mininv" ] || die "no minimized trace for the planted invariant"
set +e
"$replay" --check "$mininv" > "$scratch/replay-invariant.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || die "vcon-replay --check $mininv exited $rc, not 3 (see $scratch/replay-invariant.log)"
grep -q "invariant violated: uart regs: IER keeps bits 0-3 only" "$scratch/replay-invariant.log" \
  || die "vcon-replay --check names another invariant (see $scratch/replay-invariant.log)"
say "vcon-replay --check reproduces $mininv (exit 3)"

# ---- 4. the same with AFL++ ---------------------------------------------------
# The uart target only, built by afl-clang-fast with the same plants (their
# object compiled for CmpLog, so that afl-fuzz -c can solve the planted
# comparisons). Checks: exec/s and edges reported, the corpus minimized by
# afl-cmin, and the planted crash found, deduplicated and reproduced through
# the sanitizer build, as with libFuzzer.
if command -v afl-clang-fast >/dev/null 2>&1 && command -v afl-fuzz >/dev/null 2>&1; then
  aflplanted="$scratch/planted-afl"
  plant "$aflplanted" env AFL_QUIET=1 AFL_LLVM_CMPLOG=1 afl-clang-fast
  build afl "$scratch/afl" "fuzz_uart fuzz_uart_cmplog fuzz_console" \
    "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--wrap=vcon_uart_write,--wrap=vcon_uart_get_state" \
    "-DCMAKE_C_STANDARD_LIBRARIES=$aflplanted/libplanted_crash.a"
  # The coverage AFL++ sees for an input does not depend on the input run
  # before it in the same process: the reset's paths, which do, are
  # discarded (vcon_fuzz_discard_coverage), and the harness, whose paths
  # can, is not instrumented (fuzzers/CMakeLists.txt). afl-showmap runs a
  # folder's files in one persistent-mode process, in name order: X, X, Y,
  # X, and the maps of the second and the fourth X must be equal. Without
  # the discard, 5 of these 16 pairs differed on the uart, 16 on the
  # console; with it but the harness instrumented, 5 on the console.
  command -v afl-showmap >/dev/null 2>&1 || die "afl-showmap not found (it comes with afl++)"
  for t in uart console; do
    seeds=()
    for f in "$root/corpus/$t"/*; do
      if [ "${#seeds[@]}" -lt 8 ]; then seeds+=("$(basename "$f")"); fi
    done
    [ "${#seeds[@]}" -eq 8 ] || die "fewer than 8 seeds in corpus/$t"
    unstable=0
    for x in "${seeds[@]:0:4}"; do
      for y in "${seeds[@]:4:4}"; do
        maps="$scratch/afl-maps"
        rm -rf "$maps" && mkdir -p "$maps/in"
        cp "$root/corpus/$t/$x" "$maps/in/a"
        cp "$root/corpus/$t/$x" "$maps/in/b"
        cp "$root/corpus/$t/$y" "$maps/in/c"
        cp "$root/corpus/$t/$x" "$maps/in/d"
        afl-showmap -q -i "$maps/in" -o "$maps/out" -- "$scratch/afl/fuzzers/fuzz_$t" \
          > "$maps/showmap.log" 2>&1 || true
        [ -s "$maps/out/b" ] && [ -s "$maps/out/d" ] \
          || die "afl-showmap wrote no map for $t seed $x (see $maps/showmap.log)"
        if ! cmp -s "$maps/out/b" "$maps/out/d"; then
          echo "test_fuzz_night: AFL++'s map of $t seed $x differs after $y" >&2
          unstable=$((unstable + 1))
        fi
      done
    done
    [ "$unstable" -eq 0 ] || die "AFL++: $unstable of 16 $t seed maps depend on the input before"
    say "AFL++: the $t seeds' maps do not depend on the input run before (16 pairs)"
  done
  night_uart() { # engine, seed, output folder, AFL++ build: 40 s on the uart target
    local engine=$1 seed=$2 out=$3 afl_build=$4 status=0
    rm -rf "$out"
    say "running vcon-fuzz-night --engine $engine for 40 s on the uart target"
    # Slices of 12 s: each AFL++ instance is resumed at least once, and
    # afl-fuzz renames what it found before to crashes.<date>/ and hangs.<date>/.
    "$night" --engine "$engine" --seconds 40 --slice-minutes 0.2 --jobs "$jobs" --seed "$seed" \
      --status-interval 15 \
      --targets uart --out "$out" --corpus "$corpus" --afl-build "$afl_build" \
      --libfuzzer-build "$scratch/libfuzzer" --coverage-build "$scratch/coverage" \
      --minimize-timeout 300 > "$out.log" 2>&1 || status=$?
    [ "$status" -eq 0 ] || { tail -n 30 "$out.log" >&2; die "vcon-fuzz-night --engine $engine exited $status"; }
    # afl-fuzz starts its targets in sessions of their own; none may outlive
    # the run (a persistent-mode target stopped between runs once did).
    local left
    left=$(pgrep -af "$scratch/(afl|libfuzzer)/" || true)
    [ -z "$left" ] || die "--engine $engine: processes outlived the run: $left"
    [ -s "$out/report.md" ] || die "--engine $engine: no report.md"
  }
  out_afl="$scratch/out-afl"
  night_uart afl 1 "$out_afl" "$scratch/afl"
  [ -s "$out_afl/coverage/html/index.html" ] || die "AFL++: no coverage HTML"
  python3 - "$out_afl/summary.json" "$out_afl/report.md" "$out_afl/targets/uart/afl" <<'EOF' || die "AFL++: the run is not reported as expected (see $out_afl/report.md)"
import json, os, sys
summary = json.load(open(sys.argv[1]))
report = open(sys.argv[2]).read()
uart = next(t for t in summary["targets"] if t["name"] == "uart")
# Every crash and hang afl-fuzz saved, in any slice, is a crash input of
# the report (runner-run seeds come on top).
saved = 0
for inst in os.listdir(sys.argv[3]):
    for sub in os.listdir(os.path.join(sys.argv[3], inst)):
        if sub.split(".", 1)[0] in ("crashes", "hangs"):
            saved += len([n for n in os.listdir(os.path.join(sys.argv[3], inst, sub))
                          if n.startswith("id:")])
assert uart["crash_inputs"] >= saved, "afl-fuzz saved %d crash and hang inputs, the report has %d" % (
    saved, uart["crash_inputs"])
assert uart["slices"] >= 2 * len(os.listdir(sys.argv[3])), "no instance was resumed: %s" % uart
assert uart["execs"] > 1000, "AFL++ ran %d inputs" % uart["execs"]
assert "afl-cmin failed" not in report, "afl-cmin failed: the corpus was not minimized"
planted = [c for c in summary["crashes"]
           if c["site"].startswith("planted_crash tools/fuzz_report/planted_crash.c:")]
assert len(planted) == 1, "expected the planted crash exactly once, got %s" % (
    [c["site"] for c in summary["crashes"]])
assert planted[0]["minimized_trace"] and planted[0]["reproduced"] is True, planted[0]
# afl-fuzz skips seeds that crash; the runner runs them itself (the four
# planted seeds crash the AFL++ build too).
assert "uart: 4 seed(s) crash or hang the AFL++ build" in report, "crashing seeds not reported"
print("test_fuzz_night: AFL++: %d execs, corpus %d -> %d, the planted crash from %d input(s)"
      % (uart["execs"], uart["corpus_before"], uart["corpus_after"], planted[0]["inputs"]))
EOF

  # ---- 4b. both engines, taking turns ----------------------------------------
  # The uart target's slices alternate between the two builds, and each
  # engine starts from what the other found: afl-fuzz imports libFuzzer's
  # corpus through the hub (queue entries named sync:hub), libFuzzer reads
  # the AFL++ queues (from-afl/). The planted crash, found by either or
  # both, is still one crash. (tests/test_fuzz_night_share.py tests how
  # the finds are passed on, inputs that crash one build included.)
  out_both="$scratch/out-both"
  night_uart both 3 "$out_both" "$scratch/afl"
  python3 - "$out_both" <<'EOF' || die "--engine both: the run is not reported as expected (see $out_both/report.md)"
import glob, json, os, re, sys
out = sys.argv[1]
summary = json.load(open(os.path.join(out, "summary.json")))
report = open(os.path.join(out, "report.md")).read()
uart = next(t for t in summary["targets"] if t["name"] == "uart")
assert summary["engine"] == "both", summary["engine"]
for engine in ("libfuzzer", "afl"):
    assert uart["slices_by_engine"][engine] >= 1, uart
    assert uart["execs_by_engine"][engine] > 1000, uart
assert uart["execs"] == sum(uart["execs_by_engine"].values()), uart
assert uart["afl_edges_found"] > 0 and uart["engine_coverage"] > 0, uart
assert "| engine | libFuzzer and AFL++, taking turns |" in report
tdir = os.path.join(out, "targets", "uart")
# AFL++ took libFuzzer's corpus in through the hub ...
imported = [n for q in glob.glob(os.path.join(tdir, "afl", "s*", "queue"))
            for n in os.listdir(q) if "sync:hub" in n]
assert imported, "no AFL++ instance imported an input from the hub"
# ... and a libFuzzer slice after an AFL++ one read the AFL++ queues.
read = []
for log in sorted(glob.glob(os.path.join(tdir, "logs", "slice-*.log"))):
    m = re.search(r"INFO:\s+(\d+) files found in \S*/from-afl", open(log, errors="replace").read())
    if m:
        read.append(int(m.group(1)))
assert any(n > 0 for n in read), "no libFuzzer slice read AFL++'s finds: %s" % read
planted = [c for c in summary["crashes"]
           if c["site"].startswith("planted_crash tools/fuzz_report/planted_crash.c:")]
assert len(planted) == 1, "expected the planted crash exactly once, got %s" % (
    [c["site"] for c in summary["crashes"]])
assert planted[0]["reproduced"] is True, planted[0]
print("test_fuzz_night: both engines: %s execs, %s slices; AFL++ imported %d inputs, libFuzzer "
      "read %d of AFL++'s; the planted crash once, from %d input(s)"
      % (uart["execs_by_engine"], uart["slices_by_engine"], len(imported), max(read),
         planted[0]["inputs"]))
EOF
else
  say "SKIP the AFL++ run: afl-clang-fast or afl-fuzz not installed (ci/install-deps installs afl++)"
fi

# ---- 5. Ctrl-C -------------------------------------------------------------------
out2="$scratch/out-interrupted"
rm -rf "$out2"
say "interrupting a run with SIGINT"
"$night" --seconds 300 --jobs "$jobs" --seed 2 --targets uart,options --out "$out2" \
  --corpus "$corpus" --libfuzzer-build "$scratch/libfuzzer" \
  --coverage-build "$scratch/coverage" > "$scratch/interrupted.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  sleep 1
  if ls "$out2"/targets/*/logs/slice-0001.log >/dev/null 2>&1; then
    break
  fi
done
sleep 5
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 130 ] || { tail -n 20 "$scratch/interrupted.log" >&2; die "an interrupted run exited $status, not 130"; }
[ -s "$out2/report.md" ] || die "an interrupted run wrote no report.md"
grep -q "stopped early by an interrupt" "$out2/report.md" || die "report.md does not say the run was interrupted"
left=$(python3 - "$out2/" <<'EOF'
import os, sys
me = str(os.getpid())
for pid in os.listdir("/proc"):
    if not pid.isdigit() or pid == me:
        continue
    try:
        cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        continue
    if sys.argv[1] in cmd:
        print(pid, cmd)
EOF
)
[ -z "$left" ] || die "processes of the interrupted run are still running: $left"
say "an interrupted run stops its fuzzers and writes its report"

# ---- 6. a setup failure -------------------------------------------------------------
set +e
"$night" --seconds 5 --out "$scratch/out-setup" --libfuzzer-build "$scratch/no-such-build" \
  > "$scratch/setup.log" 2>&1
status=$?
set -e
[ "$status" -eq 2 ] || die "a missing build exited $status, not 2"
grep -q "missing builds" "$scratch/setup.log" || die "a missing build gives no clear message"
say "a missing build is a setup failure (exit 2)"

say "PASS"

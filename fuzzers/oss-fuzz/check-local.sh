#!/usr/bin/env bash
# The local check of the OSS-Fuzz build (docs/overnight.md, "OSS-Fuzz").
#
# Runs fuzzers/oss-fuzz/build.sh the way OSS-Fuzz does, with OSS-Fuzz's
# environment variables, for each configuration asked for:
#   libfuzzer-address    CC=clang, ASan + -fsanitize=fuzzer-no-link,
#                        LIB_FUZZING_ENGINE=-fsanitize=fuzzer
#   libfuzzer-undefined  the same with OSS-Fuzz's UBSan flags
#   afl-address          CC=afl-clang-fast, ASan, LIB_FUZZING_ENGINE = AFL++'s
#                        libAFLDriver.a (or a small driver built here when
#                        the afl++ package has none)
# then checks every target in $OUT the way OSS-Fuzz's check_build does:
#   - the seed corpus zip is there (and the dict an .options file names);
#   - the binary carries the sanitizer of its build and no other (calls into
#     the sanitizer runtimes, counted with objdump, against OSS-Fuzz's
#     thresholds);
#   - the devices (emu/) are instrumented for coverage and sanitized, the
#     harness is neither, as in the project's own engine builds (fuzz_uart's
#     machine code);
#   - libFuzzer: `-seed=1337 -runs=4` finds instrumentation (at least 100
#     edges) and does its 4 runs; every seed corpus input runs without a
#     crash (`-runs=0` over the unpacked zip, with the .options);
#   - AFL++: afl-fuzz starts on the seed corpus ("All set and ready to
#     roll") and the target neither crashes nor hangs at start-up; every seed
#     runs through the driver without a crash.
# Exit status 0 when every check passes, 1 when one fails, 2 for a usage or
# setup error.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: fuzzers/oss-fuzz/check-local.sh [--configs LIST] [--work DIR] [--keep]

  --configs LIST  comma-separated, of libfuzzer-address, libfuzzer-undefined,
                  afl-address (default: all three)
  --work DIR      where to build (default: a temporary folder, removed after
                  a pass); kept with --keep or after a failure
  --keep          keep the work folder
EOF
}

configs="libfuzzer-address,libfuzzer-undefined,afl-address"
work=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) configs=${2:?--configs needs a list}; shift 2 ;;
    --configs=*) configs=${1#--configs=}; shift ;;
    --work) work=${2:?--work needs a folder}; shift 2 ;;
    --work=*) work=${1#--work=}; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check-local.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me="check-local.sh"

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "$me: $1 not found ($2; ci/install-deps installs it)" >&2
    exit 2
  fi
}
need cmake "building"
need python3 "packing and unpacking the seed corpora"
need objdump "the sanitizer check"

if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/vcon-oss-fuzz.XXXXXX")
else
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
fi
mkdir -p "$work/src" "$work/logs"
ln -sfn "$root" "$work/src/vcon"

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# OSS-Fuzz's flags (infra/base-images/base-builder).
common_cflags="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
san_address="-fsanitize=address -fsanitize-address-use-after-scope"
ubsan_checks="array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr"
ubsan_fatal="array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
san_undefined="-fsanitize=$ubsan_checks -fno-sanitize-recover=$ubsan_fatal"
# And the runtime options its run_fuzzer uses.
export ASAN_OPTIONS="alloc_dealloc_mismatch=0:allocator_may_return_null=1:check_malloc_usable_size=0:detect_leaks=1:detect_stack_use_after_return=1:fast_unwind_on_fatal=0:handle_abort=1:handle_segv=1:handle_sigill=1:symbolize=1:use_sigaltstack=1:dedup_token_length=3"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1:symbolize=1"

# The AFL++ driver: Debian's afl++ ships libAFLDriver.a.
afl_driver() {
  local dir
  for dir in "${AFL_PATH:-}" /usr/lib/afl /usr/local/lib/afl; do
    if [ -n "$dir" ] && [ -f "$dir/libAFLDriver.a" ]; then
      echo "$dir/libAFLDriver.a"
      return
    fi
  done
  # None: a minimal persistent-mode driver with shared-memory input.
  local d="$work/afl-driver"
  mkdir -p "$d"
  cat > "$d/driver.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__AFL_FUZZ_INIT();
int main(int argc, char **argv)
{
    if (argc > 1) { /* run the files named, like libAFLDriver */
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f) { perror(argv[i]); return 1; }
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            rewind(f);
            uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
            if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); return 1; }
            fclose(f);
            LLVMFuzzerTestOneInput(buf, (size_t)n);
            free(buf);
        }
        return 0;
    }
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000))
        LLVMFuzzerTestOneInput(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
    return 0;
}
EOF
  afl-clang-fast -O1 -c "$d/driver.c" -o "$d/driver.o" >&2
  ar rcs "$d/libvcon_afl_driver.a" "$d/driver.o"
  echo "$d/libvcon_afl_driver.a"
}

# Calls into a sanitizer runtime, as OSS-Fuzz's check_mixed_sanitizers counts them.
count_calls() {
  objdump -d "$1" | grep -Ec "callq?[[:space:]]+[0-9a-f]+[[:space:]]+<__$2" || true
}

# Unpack a seed corpus zip into a folder (python3: unzip may be missing).
unpack() {
  python3 - "$1" "$2" <<'EOF'
import os, sys, zipfile
z, d = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
with zipfile.ZipFile(z) as f:
    for i, name in enumerate(sorted(f.namelist())):
        if name.endswith("/"):
            continue
        with open(os.path.join(d, "seed-%05d" % i), "wb") as out:
            out.write(f.read(name))
EOF
}

# libFuzzer flags from an .options file's [libfuzzer] section.
options_flags() {
  [ -f "$1" ] || return 0
  python3 - "$1" <<'EOF'
import configparser, os, sys
p = configparser.ConfigParser()
p.read(sys.argv[1])
if p.has_section("libfuzzer"):
    for k, v in p.items("libfuzzer"):
        if k == "dict":
            v = os.path.join(os.path.dirname(sys.argv[1]), v)
        print("-%s=%s" % (k, v))
EOF
}

check_target_libfuzzer() {
  local f=$1 san=$2 name out log flags=()
  name=$(basename "$f")
  out=$(dirname "$f")
  log="$work/logs/$config-$name"
  mapfile -t flags < <(options_flags "$out/$name.options")

  # check_engine and check_startup_crash: no corpus, 4 runs.
  if ! "$f" -seed=1337 -runs=4 > "$log-engine.log" 2>&1; then
    fail "$config $name: crashes or exits at start-up (-seed=1337 -runs=4; $log-engine.log)"
    tail -n 20 "$log-engine.log" | sed 's/^/    /'
    return
  fi
  if grep -q "ERROR: no interesting inputs were found" "$log-engine.log"; then
    fail "$config $name: no coverage instrumentation"
    return
  fi
  if ! grep -q "Done 4 runs" "$log-engine.log"; then
    fail "$config $name: did not do its 4 runs ($log-engine.log)"
    return
  fi
  local edges
  edges=$(grep -Eo "INFO: Loaded [0-9]+ modules? +\([0-9]+ (inline 8-bit counters|guards)" "$log-engine.log" \
          | grep -Eo "\([0-9]+" | tr -d '(' | head -n 1 || true)
  if [ -z "$edges" ] || [ "$edges" -lt 100 ]; then
    fail "$config $name: only ${edges:-0} instrumented edges (OSS-Fuzz wants 100 or more)"
  fi

  # check_seed_corpus: every seed input runs, with the options OSS-Fuzz passes.
  local seeds="$work/seeds/$config/$name"
  rm -rf "$seeds"
  unpack "$out/${name}_seed_corpus.zip" "$seeds"
  if ! "$f" -rss_limit_mb=2560 -timeout=25 -runs=0 "${flags[@]}" "$seeds" > "$log-seeds.log" 2>&1; then
    fail "$config $name: an input of its seed corpus crashes ($log-seeds.log)"
    grep -E "ERROR|SUMMARY|#[0-9]+ " "$log-seeds.log" | head -n 15 | sed 's/^/    /'
    return
  fi
  echo "ok: $config $name ($edges edges, $(find "$seeds" -type f | wc -l) seeds)"
}

check_target_afl() {
  local f=$1 name out log
  name=$(basename "$f")
  out=$(dirname "$f")
  log="$work/logs/$config-$name"
  local seeds="$work/seeds/$config/$name" findings="$work/afl-out/$config/$name"
  rm -rf "$seeds" "$findings"
  mkdir -p "$(dirname "$findings")"
  unpack "$out/${name}_seed_corpus.zip" "$seeds"
  if [ -z "$(ls -A "$seeds")" ]; then
    printf 'x' > "$seeds/default"
  fi
  local dict_args=()
  if [ -f "$out/$name.dict" ]; then
    dict_args=(-x "$out/$name.dict")
  fi
  # check_engine / check_startup_crash: afl-fuzz starts and fuzzes a while.
  # (afl-fuzz insists on abort_on_error=1 and symbolize=0.)
  ASAN_OPTIONS="$ASAN_OPTIONS:abort_on_error=1:symbolize=0" \
  UBSAN_OPTIONS="$UBSAN_OPTIONS:abort_on_error=1:symbolize=0" \
  AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=30000 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
  AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_CRASH_README=1 \
    timeout -s INT 60 afl-fuzz -i "$seeds" -o "$findings" -V 3 -m none -t 5000 \
      "${dict_args[@]}" -- "$f" > "$log-afl.log" 2>&1 || true
  if ! grep -q "All set and ready to roll" "$log-afl.log"; then
    fail "$config $name: afl-fuzz did not start ($log-afl.log)"
    grep -E "ABORT|ERROR|Location|crash|terminated|hang" "$log-afl.log" | head -n 10 | sed 's/^/    /'
    return
  fi
  if grep -Eq "target binary (crashed|terminated)" "$log-afl.log"; then
    fail "$config $name: the target crashes at start-up under afl-fuzz ($log-afl.log)"
    return
  fi
  # The seed corpus through the driver (it runs the files it is given).
  if ! "$f" "$seeds"/* > "$log-seeds.log" 2>&1; then
    fail "$config $name: an input of its seed corpus crashes ($log-seeds.log)"
    grep -E "ERROR|SUMMARY" "$log-seeds.log" | head -n 10 | sed 's/^/    /'
    return
  fi
  local execs
  execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); s += $2} END {print s + 0}' \
          "$findings"/*/fuzzer_stats 2>/dev/null || echo 0)
  echo "ok: $config $name (afl-fuzz ran $execs execs in 3 s)"
}

check_sanitizers() {
  local f=$1 san=$2 engine=$3 name asan ubsan
  name=$(basename "$f")
  asan=$(count_calls "$f" asan)
  ubsan=$(count_calls "$f" ubsan)
  case "$san" in
    address)
      if [ "$asan" -lt 1000 ]; then
        fail "$config $name: does not seem to be compiled with ASan ($asan calls)"
      fi
      if [ "$ubsan" -gt 200 ]; then
        fail "$config $name: the ASan build seems to be compiled with UBSan ($ubsan calls)"
      fi ;;
    undefined)
      if [ "$engine" = libfuzzer ]; then
        if [ "$asan" -gt 0 ]; then
          fail "$config $name: the UBSan build seems to be compiled with ASan ($asan calls)"
        fi
        if [ "$ubsan" -lt 168 ]; then
          fail "$config $name: does not seem to be compiled with UBSan ($ubsan calls)"
        fi
      fi ;;
  esac
}

# The instrumentation's scope, as the project's own engine builds have it
# (fuzzers/CMakeLists.txt): the devices are covered and sanitized, the
# harness is neither (it is the oracle, not the code under test; its paths
# follow what earlier inputs left behind, which the engines would count as
# unstable). Checked on fuzz_uart: emu/'s vcon_uart_read against the
# harness's vcon_vm_write and vcon_uart_model_step, by the marks each
# engine's coverage and each sanitizer leave in the machine code.
function_code() { # disassembly file, function
  awk -v f="<$2>:" '$2 == f {p = 1; next} p && /^$/ {exit} p' "$1"
}
marks() { # disassembly file, function, pattern
  function_code "$1" "$2" | grep -c "$3" || true
}
check_instrumentation_scope() {
  local f=$1 engine=$2 san=$3 cov rt fn n pattern
  [ "$(basename "$f")" = fuzz_uart ] || return 0
  # Disassembled once for all the looks below.
  local code="$work/logs/$config-fuzz_uart.s"
  objdump -d --no-show-raw-insn "$f" > "$code"
  case "$engine" in
    # libFuzzer's inline 8-bit counters: an add of 1 to a byte in
    # __sancov_cntrs (the only coverage the UART's code keeps).
    libfuzzer) cov='addb \+\$0x1,0x[0-9a-f]*(%rip)' ;;
    *) cov="<__afl_area_ptr>" ;;
  esac
  case "$san" in
    address) rt="call.*<__asan_" ;;
    *) rt="call.*<__ubsan_" ;;
  esac
  for fn in vcon_uart_read vcon_vm_write vcon_uart_model_step virtq_walk_chain; do
    if [ -z "$(function_code "$code" "$fn")" ]; then
      fail "$config fuzz_uart: no function $fn to check the instrumentation on"
      return
    fi
  done
  for pattern in "$cov" "$rt"; do
    if [ "$(marks "$code" vcon_uart_read "$pattern")" -eq 0 ]; then
      fail "$config fuzz_uart: emu/'s vcon_uart_read has no '$pattern' (not instrumented)"
    fi
    for fn in vcon_vm_write vcon_uart_model_step; do
      n=$(marks "$code" "$fn" "$pattern")
      if [ "$n" -ne 0 ]; then
        fail "$config fuzz_uart: the harness's $fn is instrumented ($n of '$pattern')"
      fi
    done
  done
  [ "$engine" = libfuzzer ] || return 0
  # Comparison tracing: left out of the UART (fuzzers/CMakeLists.txt says
  # why), kept in the virtio devices.
  pattern="call.*<__sanitizer_cov_trace_\(const_\)\?cmp"
  for fn in vcon_uart_read uart_update_irq uart_write_register; do
    n=$(marks "$code" "$fn" "$pattern")
    if [ "$n" -ne 0 ]; then
      fail "$config fuzz_uart: emu/'s $fn traces comparisons ($n callbacks)"
    fi
  done
  if [ "$(marks "$code" virtq_walk_chain "$pattern")" -eq 0 ]; then
    fail "$config fuzz_uart: emu/'s virtq_walk_chain lost its comparison tracing"
  fi
}

IFS=, read -r -a config_list <<< "$configs"
for config in "${config_list[@]}"; do
  engine=${config%%-*}
  san=${config#*-}
  case "$engine" in
    libfuzzer)
      need clang "libFuzzer builds"
      cc=clang
      engine_cflags="-fsanitize=fuzzer-no-link"
      lib_fuzzing_engine="-fsanitize=fuzzer" ;;
    afl)
      need afl-clang-fast "AFL++ builds"
      need afl-fuzz "AFL++ runs"
      cc=afl-clang-fast
      engine_cflags=""
      lib_fuzzing_engine=$(afl_driver) ;;
    *) echo "$me: unknown configuration '$config'" >&2; exit 2 ;;
  esac
  case "$san" in
    address) san_cflags=$san_address ;;
    undefined) san_cflags=$san_undefined ;;
    *) echo "$me: unknown sanitizer in '$config'" >&2; exit 2 ;;
  esac

  out="$work/out/$config"
  rm -rf "$out" "$work/work/$config"
  mkdir -p "$out" "$work/work/$config"
  echo "== $config: build.sh (CC=$cc, LIB_FUZZING_ENGINE=$lib_fuzzing_engine)"
  start=$(date +%s)
  if ! env CC="$cc" CXX="${cc/clang/clang++}" \
        CFLAGS="$common_cflags $san_cflags $engine_cflags" \
        CXXFLAGS="$common_cflags $san_cflags $engine_cflags" \
        LIB_FUZZING_ENGINE="$lib_fuzzing_engine" \
        SANITIZER="$san" FUZZING_ENGINE="$engine" ARCHITECTURE=x86_64 FUZZING_LANGUAGE=c \
        SRC="$work/src" OUT="$out" WORK="$work/work/$config" \
        bash "$root/fuzzers/oss-fuzz/build.sh" > "$work/logs/$config-build.log" 2>&1; then
    fail "$config: build.sh failed; the end of $work/logs/$config-build.log:"
    tail -n 30 "$work/logs/$config-build.log" | sed 's/^/    /'
    continue
  fi
  echo "   built in $(( $(date +%s) - start )) s"

  found=0
  for f in "$out"/*; do
    if [ ! -f "$f" ] || [ ! -x "$f" ]; then
      continue
    fi
    found=$((found + 1))
    name=$(basename "$f")
    if [ ! -f "$out/${name}_seed_corpus.zip" ]; then
      fail "$config $name: no ${name}_seed_corpus.zip beside it"
    fi
    if [ -f "$out/$name.options" ] && grep -Eq '^dict[[:space:]]*=' "$out/$name.options"; then
      d=$(sed -nE 's/^dict[[:space:]]*=[[:space:]]*//p' "$out/$name.options" | head -n 1)
      [ -f "$out/$d" ] || fail "$config $name: $name.options names $d, which is not in \$OUT"
    fi
    check_sanitizers "$f" "$san" "$engine"
    check_instrumentation_scope "$f" "$engine" "$san"
    if [ "$engine" = libfuzzer ]; then
      check_target_libfuzzer "$f" "$san"
    else
      check_target_afl "$f"
    fi
  done
  if [ "$found" -eq 0 ]; then
    fail "$config: build.sh put no fuzz target into \$OUT"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "$me: $failures check(s) failed; logs and builds kept in $work"
  exit 1
fi
echo "$me: every check passed (${configs})"
if [ "$keep" -eq 1 ]; then
  echo "$me: work folder kept: $work"
else
  rm -rf "$work"
fi

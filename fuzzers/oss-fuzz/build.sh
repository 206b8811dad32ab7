#!/bin/bash -eu
# OSS-Fuzz build script for vcon (docs/overnight.md, "OSS-Fuzz").
#
# OSS-Fuzz runs it in its base-builder image with the compiler, the flags and
# the engine of the build it wants (libFuzzer or AFL++, ASan or UBSan):
#   CC, CFLAGS            compiler and flags, sanitizer and engine
#                         instrumentation included
#   LIB_FUZZING_ENGINE    what a target links for its engine: -fsanitize=fuzzer,
#                         or the path of a driver library (AFL++)
#   SRC, OUT, WORK        sources ($SRC/vcon, or VCON_SRC), results, scratch
# fuzzers/oss-fuzz/check-local.sh runs it the same way on a Debian machine.
#
# For every fuzz target (fuzzers/fuzz_<target>.c) it puts into $OUT:
#   fuzz_<target>                   linked with $LIB_FUZZING_ENGINE
#   fuzz_<target>_seed_corpus.zip   corpus/<target>/
#   fuzz_<target>.dict              corpus/<target>.dict, when there is one
#   fuzz_<target>.options           fuzzers/<target>.options, with its dict
#                                   line naming fuzz_<target>.dict
# The build goes through CMake with VCON_FUZZ_ENGINE=oss-fuzz
# (fuzzers/CMakeLists.txt): every source is compiled with $CFLAGS and nothing
# of the project's own sanitizer settings, and each target links
# $LIB_FUZZING_ENGINE.

set -eu   # also when run as `bash build.sh`

src=${VCON_SRC:-$SRC/vcon}
build=$WORK/vcon-build
: "${CFLAGS:=}"
: "${LIB_FUZZING_ENGINE:?LIB_FUZZING_ENGINE is not set (OSS-Fuzz sets it; see check-local.sh)}"
: "${OUT:?OUT is not set}"
: "${WORK:?WORK is not set}"
: "${CC:=clang}"

if [ ! -f "$src/fuzzers/CMakeLists.txt" ]; then
  echo "build.sh: no vcon checkout at $src (set SRC, or VCON_SRC)" >&2
  exit 1
fi
if ! grep -q '"oss-fuzz"' "$src/fuzzers/CMakeLists.txt"; then
  echo "build.sh: fuzzers/CMakeLists.txt has no VCON_FUZZ_ENGINE=oss-fuzz mode" >&2
  exit 1
fi

# The targets: fuzzers/fuzz_<target>.c files that define
# LLVMFuzzerTestOneInput (fuzz_common.c only uses it).
targets=()
for f in "$src"/fuzzers/fuzz_*.c; do
  if grep -Eq '^int[[:space:]]+LLVMFuzzerTestOneInput[[:space:]]*\(.*[^;[:space:]][[:space:]]*$' "$f"; then
    name=$(basename "$f" .c)
    targets+=("${name#fuzz_}")
  fi
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "build.sh: no fuzz target in $src/fuzzers" >&2
  exit 1
fi

# OSS-Fuzz's clang is newer than the one the project's CI builds with and
# may warn where it does not: a warning must not fail a fuzzing build. The
# project compiles with -Werror, so a launcher puts -Wno-error last.
mkdir -p "$WORK"
launcher=$WORK/vcon-no-werror
printf '#!/bin/sh\nexec "$@" -Wno-error\n' > "$launcher"
chmod +x "$launcher"

# libzstd statically when the toolchain has the archive: a fuzz target should
# not depend on the runner image's shared libraries.
zstd_args=()
zstd_static=$("$CC" -print-file-name=libzstd.a 2>/dev/null || true)
if [ -n "$zstd_static" ] && [ -f "$zstd_static" ]; then
  zstd_args+=("-DZSTD_LIBRARY=$zstd_static")
fi

cmake -S "$src" -B "$build" -G "Unix Makefiles" \
  -DCMAKE_BUILD_TYPE= \
  -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_C_FLAGS="$CFLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="${LDFLAGS:-}" \
  -DCMAKE_C_COMPILER_LAUNCHER="$launcher" \
  -DVCON_FUZZ_ENGINE=oss-fuzz \
  -DVCON_LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DVCON_SANITIZE=OFF -DVCON_COVERAGE=OFF -DVCON_BUILD_TESTS=OFF \
  "${zstd_args[@]}"

cmake_targets=()
for t in "${targets[@]}"; do
  cmake_targets+=("fuzz_$t")
done
cmake --build "$build" -j"$(nproc)" --target "${cmake_targets[@]}"

mkdir -p "$OUT"
for t in "${targets[@]}"; do
  bin=$(find "$build" -type f -name "fuzz_$t" -perm -u+x | head -n 1)
  if [ -z "$bin" ]; then
    echo "build.sh: the build made no fuzz_$t" >&2
    exit 1
  fi
  install -m 0755 "$bin" "$OUT/fuzz_$t"
done

# Seed corpora, dictionaries and options, beside each target. Python's
# zipfile with fixed time stamps: the same corpus gives the same zip.
python3 - "$src" "$OUT" "${targets[@]}" <<'PY'
import configparser, os, sys, zipfile

src, out, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
for t in targets:
    name = "fuzz_" + t
    corpus = os.path.join(src, "corpus", t)
    with zipfile.ZipFile(os.path.join(out, name + "_seed_corpus.zip"), "w",
                         zipfile.ZIP_DEFLATED) as z:
        if os.path.isdir(corpus):
            for root, dirs, files in os.walk(corpus):
                dirs.sort()
                for f in sorted(files):
                    path = os.path.join(root, f)
                    info = zipfile.ZipInfo(os.path.relpath(path, corpus), (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    with open(path, "rb") as fh:
                        z.writestr(info, fh.read())
    dict_src = os.path.join(src, "corpus", t + ".dict")
    has_dict = os.path.isfile(dict_src)
    if has_dict:
        with open(dict_src, "rb") as fi, open(os.path.join(out, name + ".dict"), "wb") as fo:
            fo.write(fi.read())
    options = configparser.ConfigParser()
    options_src = os.path.join(src, "fuzzers", t + ".options")
    if os.path.isfile(options_src):
        options.read(options_src)
    if has_dict:
        if not options.has_section("libfuzzer"):
            options.add_section("libfuzzer")
        options.set("libfuzzer", "dict", name + ".dict")
    elif options.has_section("libfuzzer"):
        options.remove_option("libfuzzer", "dict")
    if options.sections():
        with open(os.path.join(out, name + ".options"), "w") as fo:
            options.write(fo)
    print("build.sh: %s: seed corpus, %s, %s" % (
        name, "dictionary" if has_dict else "no dictionary",
        "options" if options.sections() else "no options"))
PY

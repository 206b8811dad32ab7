#!/bin/sh
# The embedding example (examples/embed, docs/embedding.md) builds against the
# INSTALLED library and its test passes, three ways: find_package(vcon),
# pkg-config from CMake, and pkg-config from a plain compiler command line.
#
# usage: test_embed_example.sh BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER [C_FLAGS]
#   BUILD_DIR   the built vcon tree to install from
#   WORK_DIR    scratch folder (emptied first)
#   C_FLAGS     compile flags for the example (the sanitizer flags of a
#               sanitizer build; the installed library adds its link flags)
set -eu

if [ $# -lt 4 ]; then
    echo "usage: $0 BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER [C_FLAGS]" >&2
    exit 2
fi
build=$1
src=$2
work=$3
cc=$4
cflags=${5:-}

fail() {
    echo "test_embed_example: FAIL: $*" >&2
    exit 1
}

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

echo "== install $build into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install"; }
for f in lib/libvcon.a include/vcon/host.h include/vcon/console.h include/vcon/uart.h \
         include/vcon/backend.h include/vcon/backend_host.h include/vcon/dm_options.h \
         lib/cmake/vcon/vconConfig.cmake lib/cmake/vcon/vconConfigVersion.cmake \
         lib/cmake/vcon/vconTargets.cmake lib/pkgconfig/vcon.pc; do
    [ -f "$prefix/$f" ] || fail "not installed: $f"
done
# Nothing of the harness, the fuzzers or the tests is part of the library.
for f in "$prefix"/include/*; do
    [ "$f" = "$prefix/include/vcon" ] || fail "installed besides include/vcon/: $f"
done

build_with_cmake() {
    name=$1
    shift
    echo "== example with $name"
    cmake -S "$src/examples/embed" -B "$work/$name" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$cflags" -DCMAKE_PREFIX_PATH="$prefix" "$@" \
        >"$work/$name.configure.log" 2>&1 ||
        { cat "$work/$name.configure.log" >&2; fail "$name: configure"; }
    cmake --build "$work/$name" >"$work/$name.build.log" 2>&1 ||
        { cat "$work/$name.build.log" >&2; fail "$name: build"; }
    ctest --test-dir "$work/$name" --output-on-failure ||
        fail "$name: the example's test"
}

build_with_cmake find_package
build_with_cmake pkg_config_cmake -DDM_VCON_USE_PKG_CONFIG=ON

echo "== example with pkg-config and $cc alone"
pc="env PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config"
$pc --exists vcon || fail "pkg-config does not find vcon"
[ "$($pc --modversion vcon)" = "$(sed -n 's/^Version: //p' "$prefix/lib/pkgconfig/vcon.pc")" ] ||
    fail "pkg-config version"
mkdir -p "$work/plain"
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is wanted
"$cc" -std=c11 -Wall -Wextra -Werror $cflags $($pc --cflags vcon) \
    -I"$src/examples/embed" -o "$work/plain/test_dm_vcon" \
    "$src/examples/embed/dm_vcon.c" "$src/examples/embed/test_dm_vcon.c" $($pc --libs vcon) ||
    fail "plain compile"
"$work/plain/test_dm_vcon" || fail "plain build: the example's test"

echo "test_embed_example: PASS"

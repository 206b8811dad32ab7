#!/usr/bin/env bash
# Test of fuzzers/oss-fuzz/ (docs/overnight.md, "OSS-Fuzz"), run by ctest:
# fuzzers/oss-fuzz/check-local.sh builds every fuzz target through build.sh
# the way OSS-Fuzz does (libFuzzer with ASan, libFuzzer with UBSan, AFL++
# with ASan) and runs OSS-Fuzz's build checks on each.
#
#   tests/test_oss_fuzz_build.sh [WORK_DIR]
#
# WORK_DIR (default: a temporary folder) holds the builds and logs; it is
# kept after a failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
args=()
if [ $# -ge 1 ]; then
  rm -rf "$1"
  args=(--work "$1")
fi
exec "$root/fuzzers/oss-fuzz/check-local.sh" "${args[@]}"

# Helpers shared by the shell tests (sourced, not run).

# scratch_folder PREFIX [DIR]: prints DIR, created and made absolute, or,
# without DIR, a new temporary folder named after PREFIX.
scratch_folder() {
  if [ -n "${2:-}" ]; then
    mkdir -p "$2"
    (CDPATH='' cd -- "$2" >/dev/null && pwd)
  else
    mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX"
  fi
}

# function_code DISASSEMBLY FUNCTION: FUNCTION's instructions, from a file
# `objdump -d --no-show-raw-insn` wrote (one disassembly serves every
# function asked about); nothing when the file has no such function.
function_code() {
  awk -v f="<$2>:" '$2 == f {p = 1; next} p && /^$/ {exit} p' "$1"
}

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

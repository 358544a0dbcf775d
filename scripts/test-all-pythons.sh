#!/usr/bin/env bash
# `make test` on each CPython version given (e.g. 3.11 3.12 3.13) that this machine has,
# each in its own .venv-X.Y; the cargo target directory is shared, so only the pyo3 layer
# and the extension rebuild per version. Runs every version, then fails if any was red.
set -uo pipefail
cd "$(dirname "$0")/.."

# The interpreter for version $1: python$1 on PATH if it runs, else the newest
# pyenv install of it (pyenv's shim for a version that is not selected fails to run).
find_python() {
  local v=$1 root cand
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
    command -v "python$v"
    return
  fi
  root=${PYENV_ROOT:-$HOME/.pyenv}
  for cand in $(ls -d "$root"/versions/"$v".*/bin/"python$v" 2>/dev/null | sort -V -r); do
    if "$cand" -c 'import sys' >/dev/null 2>&1; then
      echo "$cand"
      return
    fi
  done
  return 1
}

passed=() failed=() missing=()
for v in "$@"; do
  if ! py=$(find_python "$v"); then
    echo "== Python $v: not installed on this machine, skipped" >&2
    missing+=("$v")
    continue
  fi
  echo "== Python $v: $py ($("$py" -c 'import platform; print(platform.python_version())'))"
  start=$SECONDS
  if make test PYTHON="$py" VENV=".venv-$v"; then
    passed+=("$v")
  else
    failed+=("$v")
  fi
  echo "== Python $v: $((SECONDS - start)) s"
done

echo "== passed: ${passed[*]:-none}; failed: ${failed[*]:-none}; not installed: ${missing[*]:-none}"
[ ${#failed[@]} -eq 0 ] && [ ${#passed[@]} -gt 0 ]

#!/usr/bin/env bash
# Prints "X.Y /path/to/pythonX.Y" for each CPython version given (e.g. 3.11 3.12 3.13) that
# this machine has: pythonX.Y on PATH if it runs, else the newest pyenv install of it (a
# pyenv shim for a version that is not selected is on PATH but fails to run). Versions not
# found are reported on stderr.
set -uo pipefail

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

for v in "$@"; do
  if py=$(find_python "$v"); then
    echo "$v $py"
  else
    echo "Python $v: not installed on this machine" >&2
  fi
done

#!/usr/bin/env bash
# `make test` on each CPython version given (e.g. 3.11 3.12 3.13) that this machine has,
# each in its own .venv-X.Y; the cargo target directory is shared, so only the pyo3 layer
# and the extension rebuild per version. Runs every version, then fails if any was red
# (or if none was found).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=() failed=()
mkdir -p .test-logs
while read -r v py; do
  echo "== Python $v: $py ($("$py" -c 'import platform; print(platform.python_version())'))"
  start=$SECONDS
  # Starlette's and FastAPI's own suites run once, on the first (oldest) version.
  upstream=0
  [ ${#passed[@]} -eq 0 ] && [ ${#failed[@]} -eq 0 ] && upstream=1
  # Each version's output is also kept in .test-logs/, so that a failure can be summed up
  # at the end (CI keeps only the head and the tail of a long output).
  if make test PYTHON="$py" VENV=".venv-$v" UPSTREAM=$upstream </dev/null 2>&1 \
      | tee ".test-logs/python-$v.log"; then
    passed+=("$v")
  else
    failed+=("$v")
  fi
  echo "== Python $v: $((SECONDS - start)) s"
done < <(./scripts/find-pythons.sh "$@")

for v in "${failed[@]}"; do
  echo "== Python $v failed; what failed (from .test-logs/python-$v.log):"
  grep -E -a '^(FAILED|ERROR) |panicked at|test result: FAILED|^---- .* stdout ----|unexpected failure|Timeout|\*\*\* \[' \
    ".test-logs/python-$v.log" | head -40
  echo "== the last lines of that log:"
  tail -n 15 ".test-logs/python-$v.log"
done
echo "== passed: ${passed[*]:-none}; failed: ${failed[*]:-none} (asked for: $*)"
[ ${#failed[@]} -eq 0 ] && [ ${#passed[@]} -gt 0 ]

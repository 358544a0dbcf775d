#!/usr/bin/env bash
# DESIGN.md's layering rule: no Python below tachyon-py.
set -euo pipefail
status=0
for crate in tachyon-core tachyon-router tachyon-json; do
  if out=$(cargo tree -q -p "$crate" -i pyo3 2>/dev/null) && [ -n "$out" ]; then
    echo "layering: $crate depends on pyo3:" >&2
    echo "$out" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "layering: tachyon-core, tachyon-router and tachyon-json do not depend on pyo3"
exit $status

#!/usr/bin/env bash
# The layering rule (docs/architecture.md): no Python below tachyon-py. Fails if a pure crate
# depends on any pyo3 crate (normal, build or dev dependency), and also if `cargo tree` itself
# fails: a check that cannot look must not pass.
set -uo pipefail
cargo=${CARGO:-cargo}
status=0
for crate in tachyon-core tachyon-router tachyon-json tachyon-server; do
  if ! tree=$("$cargo" tree -q -p "$crate" -e normal,build,dev --prefix none 2>&1); then
    echo "layering: \`cargo tree -p $crate\` failed:" >&2
    echo "$tree" >&2
    status=1
    continue
  fi
  if [ -z "$tree" ]; then
    echo "layering: \`cargo tree -p $crate\` printed nothing" >&2
    status=1
    continue
  fi
  if pyo3=$(grep -E '^pyo3(-[a-z-]+)? ' <<<"$tree" | sort -u) && [ -n "$pyo3" ]; then
    echo "layering: $crate depends on pyo3:" >&2
    echo "$pyo3" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "layering: tachyon-core, tachyon-router, tachyon-json and tachyon-server do not depend on pyo3"
exit $status

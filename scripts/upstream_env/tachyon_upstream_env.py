"""A pytest plugin (`-p tachyon_upstream_env`) that gives Starlette's and FastAPI's suites
the environment their own projects test in.

Our development environment installs the `brotli` package (CompressionMiddleware's tests
decode `br` responses with it). When it is importable, httpx adds `br` to its default
`accept-encoding`, and the upstream suites, which assert that header's exact value, fail on
our machine and on real Starlette alike. Neither project lists brotli among its test
dependencies, so the plugin hides it before anything imports httpx.
"""

import sys

for _name in ("brotli", "brotlicffi"):
    sys.modules[_name] = None  # type: ignore[assignment]  # "import brotli" now raises ImportError

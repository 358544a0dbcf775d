"""JSON with the bytes and behaviour of Starlette's ``json`` usage, in Rust.

``dumps(obj)`` returns exactly
``json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()``
and raises the same exception types; ``loads(data)`` returns exactly what
``json.loads(data)`` returns and raises ``json.JSONDecodeError`` on invalid input
(invalid UTF-8 included).
"""

from __future__ import annotations

from json import JSONDecodeError

from tachyon._tachyon import json_dumps as dumps
from tachyon._tachyon import json_loads as loads

__all__ = ["JSONDecodeError", "dumps", "loads"]

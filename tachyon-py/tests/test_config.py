"""tachyon.config against starlette.config: same values, same errors and messages."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from tachyon.config import Config, Environ, EnvironError, undefined
from tachyon.datastructures import CommaSeparatedStrings, Secret

ENV_FILE = """\
# a comment
DATABASE_URL=postgres://user:pass@localhost/dbname
REQUEST_HOSTNAME = example.com
SECRET_KEY=12345
BOOL_AS_INT=0
QUOTED="with spaces"
SINGLE='single'
MISMATCHED="nope'
EMPTY=
NOT A PAIR
ALLOWED_HOSTS=a.com, b.com
#COMMENTED=1
EQUALS=a=b
"""

LOOKUPS: list[tuple[str, Any, Any]] = [
    ("DATABASE_URL", None, undefined),
    ("REQUEST_HOSTNAME", None, undefined),
    ("SECRET_KEY", int, undefined),
    ("SECRET_KEY", float, undefined),
    ("BOOL_AS_INT", bool, undefined),
    ("QUOTED", None, undefined),
    ("SINGLE", None, undefined),
    ("MISMATCHED", None, undefined),
    ("EMPTY", None, undefined),
    ("EQUALS", None, undefined),
    ("COMMENTED", None, undefined),
    ("MISSING", None, undefined),
    ("MISSING", None, None),
    ("MISSING", int, None),
    ("MISSING", bool, "True"),
    ("MISSING", bool, True),
    ("MISSING", int, "12"),
    ("DATABASE_URL", int, undefined),
    ("DATABASE_URL", bool, undefined),
    ("FROM_ENV", None, undefined),
    ("FROM_ENV", bool, undefined),
    ("EMPTY", bool, undefined),
]


def outcome(config: Any, key: str, cast: Any, default: Any) -> Any:
    try:
        if default is undefined:
            value = config(key, cast=cast)
        else:
            value = config(key, cast=cast, default=default)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return type(value).__name__, value


@pytest.mark.parametrize("prefix", ["", "APP_"])
def test_config_matches_starlette(tmp_path: Path, prefix: str) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{prefix}{line}\n" for line in ENV_FILE.splitlines()))
    starlette_config = importlib.import_module("starlette.config")
    environ = {f"{prefix}FROM_ENV": "TRUE", f"{prefix}SECRET_KEY": "678"}
    ours = Config(env_file, environ=environ, env_prefix=prefix)
    theirs = starlette_config.Config(env_file, environ=environ, env_prefix=prefix)
    assert ours.file_values == theirs.file_values
    for key, cast, default in LOOKUPS:
        their_default = starlette_config.undefined if default is undefined else default
        assert outcome(ours, key, cast, default) == outcome(theirs, key, cast, their_default), key


def test_config_casts_with_callables(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_FILE)
    config = Config(env_file, environ={})
    assert str(config("SECRET_KEY", cast=Secret)) == "12345"
    assert repr(config("SECRET_KEY", cast=Secret)) == "Secret('**********')"
    assert list(config("ALLOWED_HOSTS", cast=CommaSeparatedStrings)) == ["a.com", "b.com"]
    assert config.get("SECRET_KEY", int) == 12345


def test_missing_env_file_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Config file '.*missing.env' not found."):
        config = Config(tmp_path / "missing.env", environ={})
    assert config.file_values == {}


def test_environ_refuses_changes_after_read() -> None:
    environ = Environ({})
    environ["A"] = "1"
    environ["B"] = "2"
    del environ["B"]
    assert environ["A"] == "1"
    assert list(environ) == ["A"] and len(environ) == 1
    with pytest.raises(EnvironError, match=r"Attempting to set environ\['A'\], but the value has already been read."):
        environ["A"] = "2"
    with pytest.raises(
        EnvironError, match=r"Attempting to delete environ\['A'\], but the value has already been read."
    ):
        del environ["A"]


def test_default_environ_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    from tachyon import config as config_module

    monkeypatch.setenv("TACHYON_CONFIG_TEST", "yes")
    assert Config()("TACHYON_CONFIG_TEST") == "yes"
    assert isinstance(config_module.environ, Environ)

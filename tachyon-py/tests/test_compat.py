"""The drop-in alias (tachyon.compat): `import starlette...` resolving to Tachyon.

The alias changes what `starlette` means for a whole interpreter, and this test session
imports the real Starlette (the differential tests' peer), so each case runs in a fresh
interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _servers import free_port, request, serving


def python(code: str, alias_env: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("TACHYON_AS_STARLETTE", None)
    if alias_env:
        env["TACHYON_AS_STARLETTE"] = "1"
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def check(code: str, alias_env: bool = False) -> str:
    done = python(code, alias_env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_install_makes_starlette_modules_tachyons_own() -> None:
    check(
        """
        import tachyon.compat
        tachyon.compat.install()
        tachyon.compat.install()  # idempotent
        import starlette, starlette.routing, starlette.middleware.cors, starlette._utils
        import starlette._exception_handler, starlette.types, starlette.concurrency
        import tachyon.routing, tachyon.middleware.cors, tachyon._utils
        from starlette.responses import JSONResponse
        from tachyon.responses import JSONResponse as TachyonJSONResponse
        assert starlette.routing is tachyon.routing
        assert starlette.middleware.cors is tachyon.middleware.cors
        assert starlette._utils is tachyon._utils
        assert JSONResponse is TachyonJSONResponse
        assert starlette.__version__ == "1.10.0"
        assert tachyon.compat.installed() and tachyon.compat.package_name() == "starlette"
        # The module still describes itself as Tachyon's.
        assert tachyon.routing.__spec__.name == "tachyon.routing"
        assert not hasattr(tachyon.routing, "__path__")
        """
    )


def test_mock_patch_through_the_starlette_name_reaches_tachyon() -> None:
    check(
        """
        import tachyon.compat; tachyon.compat.install()
        from unittest import mock
        import tachyon.routing
        with mock.patch("starlette.routing.Router.url_path_for") as patched:
            assert tachyon.routing.Router.url_path_for is patched
        assert tachyon.routing.Router.url_path_for is not patched
        """
    )


def test_isinstance_agrees_across_names() -> None:
    check(
        """
        import tachyon.compat; tachyon.compat.install()
        from starlette.exceptions import HTTPException
        from tachyon.exceptions import HTTPException as THTTPException
        from starlette.requests import Request
        import tachyon.requests
        assert isinstance(THTTPException(404), HTTPException)
        assert issubclass(tachyon.requests.Request, Request)
        """
    )


def test_a_module_tachyon_lacks_is_not_found() -> None:
    out = check(
        """
        import tachyon.compat; tachyon.compat.install()
        try:
            import starlette.not_a_module
        except ModuleNotFoundError as exc:
            print(exc.name)
        """
    )
    assert out.strip() == "starlette.not_a_module"


def test_install_after_real_starlette_is_a_precise_error() -> None:
    out = check(
        """
        import starlette.routing
        import tachyon.compat
        try:
            tachyon.compat.install()
        except tachyon.compat.StarletteAliasError as exc:
            print(exc)
        assert not tachyon.compat.installed()
        """
    )
    assert "must run before starlette is imported" in out
    assert "starlette.routing" in out


def test_uninstall_restores_the_real_starlette() -> None:
    check(
        """
        import tachyon.compat
        tachyon.compat.install()
        import starlette.routing, tachyon.routing
        assert starlette.routing is tachyon.routing
        tachyon.compat.uninstall()
        import starlette.routing as real
        assert real is not tachyon.routing and real.__name__ == "starlette.routing"
        """
    )


def test_environment_switch_works_before_anything_imports_tachyon() -> None:
    # The wheel's .pth file installs the alias at interpreter startup.
    out = check(
        """
        import sys
        assert "tachyon.routing" not in sys.modules  # startup stays light
        import starlette.routing
        print(starlette.routing.__name__, starlette.__version__)
        """,
        alias_env=True,
    )
    assert out.split() == ["tachyon.routing", "1.10.0"]


def test_without_the_switch_starlette_is_starlette() -> None:
    out = check("import starlette.routing, tachyon; print(starlette.routing.__name__)")
    assert out.strip() == "starlette.routing"


@pytest.mark.parametrize("value", ["0", "", "no"])
def test_switch_values_that_do_not_install(value: str) -> None:
    from tachyon import compat

    assert not compat._env_requests_alias({"TACHYON_AS_STARLETTE": value})
    assert compat._env_requests_alias({"TACHYON_AS_STARLETTE": " Yes "})


def test_messages_name_starlette_under_the_alias() -> None:
    out = check(
        """
        import warnings
        import tachyon.compat; tachyon.compat.install()
        import starlette.status
        try:
            starlette.status.HTTP_999_NOT_A_STATUS
        except AttributeError as exc:
            print(exc)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import starlette.middleware.wsgi
        print(caught[0].message)
        """
    )
    assert "module 'starlette.status' has no attribute 'HTTP_999_NOT_A_STATUS'" in out
    assert "starlette.middleware.wsgi is deprecated" in out


def test_warning_filters_written_for_starlette_match() -> None:
    # Starlette's own suite filters the lifespan deprecation by module "starlette.routing".
    check(
        """
        import warnings
        import tachyon.compat; tachyon.compat.install()
        from starlette.exceptions import StarletteDeprecationWarning
        from starlette.routing import Router
        warnings.filterwarnings("error")
        warnings.filterwarnings(
            "ignore", "(async )?generator function lifespans are deprecated",
            StarletteDeprecationWarning, "starlette.routing",
        )
        async def lifespan(app):
            yield
        Router(lifespan=lifespan)
        """
    )


def test_without_the_alias_messages_name_tachyon() -> None:
    import tachyon.status

    with pytest.raises(AttributeError, match="module 'tachyon.status' has no attribute"):
        tachyon.status.HTTP_999_NOT_A_STATUS  # noqa: B018


def test_fastapi_app_runs_in_process_with_the_alias() -> None:
    pytest.importorskip("fastapi")
    out = check(
        """
        import tachyon.compat; tachyon.compat.install()
        from fastapi import FastAPI
        from fastapi.testclient import TestClient
        app = FastAPI()
        @app.get("/items/{item_id}")
        async def item(item_id: int, q: str | None = None):
            return {"item_id": item_id, "q": q}
        client = TestClient(app)
        print(client.get("/items/3?q=x").text, client.get("/items/x").status_code)
        print(type(client).__module__)
        """
    )
    assert out.split() == ['{"item_id":3,"q":"x"}', "422", "tachyon.testclient"]


FASTAPI_APP = """
from fastapi import FastAPI, Request

# FastAPI's own __call__ sets the root_path: served through it under every interface.
app = FastAPI(root_path="/prefix")


@app.get("/")
async def root(request: Request):
    return {"framework": type(app.router).__mro__[-2].__module__, "root_path": request.scope["root_path"]}
"""


@pytest.mark.parametrize("extra", [[], ["--server", "uvicorn"], ["--workers", "2"]])
def test_cli_as_starlette_serves_an_unmodified_fastapi_app(tmp_path: Path, extra: list[str]) -> None:
    pytest.importorskip("fastapi")
    if "--server" not in extra and not sys.platform.startswith("linux"):
        pytest.importorskip("granian")  # the default off Linux
    (tmp_path / "main.py").write_text(FASTAPI_APP)
    port = free_port()
    args = ["-m", "tachyon", "main:app", "--app-dir", str(tmp_path), "--port", str(port), "--as-starlette"]
    args += ["--log-level", "warning", *extra]
    env = {"TACHYON_AS_STARLETTE": ""}
    with serving(args, tmp_path / "server.log", port, env=env) as running:
        for _ in range(4):
            status, _, body = request(port, "GET", "/")
            expected = b'{"framework":"tachyon.routing","root_path":"/prefix"}'
            assert (status, body) == (200, expected), running.output()
        assert running.stop() == 0, running.output()


def test_cli_as_starlette_refuses_when_starlette_is_already_imported(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, starlette; from tachyon.__main__ import main; main(sys.argv[1:])",
            "main:app",
            "--as-starlette",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "TACHYON_AS_STARLETTE"},
    )
    assert done.returncode == 2
    assert done.stderr.startswith("tachyon: error: tachyon.compat.install() must run before starlette is imported")

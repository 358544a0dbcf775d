"""AuthenticationMiddleware and `requires` against Starlette: same app, same responses."""

from __future__ import annotations

import base64
import binascii
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import STARLETTE, TACHYON

from tachyon.authentication import (
    AuthCredentials,
    SimpleUser,
    UnauthenticatedUser,
    has_required_scope,
    requires,
)


def auth_app(fw: SimpleNamespace, *, on_error: bool = False) -> Any:
    authentication = importlib.import_module(f"{fw.name}.authentication")
    middleware_module = importlib.import_module(f"{fw.name}.middleware.authentication")
    JSONResponse = fw.responses.JSONResponse
    requires = authentication.requires

    class BasicAuth(authentication.AuthenticationBackend):
        async def authenticate(self, conn: Any) -> Any:
            if "Authorization" not in conn.headers:
                return None
            scheme, _, credentials = conn.headers["Authorization"].partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(credentials).decode("ascii")
            except (ValueError, UnicodeDecodeError, binascii.Error):
                raise authentication.AuthenticationError("Invalid basic auth credentials") from None
            username, _, _ = decoded.partition(":")
            scopes = ["authenticated"] + (["admin"] if username == "admin" else [])
            return authentication.AuthCredentials(scopes), authentication.SimpleUser(username)

    def user_json(request: Any) -> Any:
        return JSONResponse(
            {
                "authenticated": request.user.is_authenticated,
                "user": request.user.display_name,
                "identity": request.user.identity,
                "scopes": request.auth.scopes,
            }
        )

    async def homepage(request: Any) -> Any:
        return user_json(request)

    @requires("authenticated")
    async def dashboard(request: Any) -> Any:
        return user_json(request)

    @requires(["authenticated", "admin"], status_code=404)
    async def admin(request: Any) -> Any:
        return user_json(request)

    @requires("authenticated")
    def sync_dashboard(request: Any) -> Any:
        return user_json(request)

    @requires("authenticated", redirect="homepage")
    async def redirecting(request: Any) -> Any:
        return user_json(request)

    @requires("authenticated", redirect="homepage")
    def sync_redirecting(request: Any) -> Any:
        return user_json(request)

    class Endpoint(fw.endpoints.HTTPEndpoint):
        @requires("authenticated")
        async def get(self, request: Any) -> Any:
            return user_json(request)

    @requires("authenticated")
    async def websocket_endpoint(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_json({"user": websocket.user.display_name})
        await websocket.close()

    def error_response(conn: Any, exc: Exception) -> Any:
        return JSONResponse({"error": str(exc)}, status_code=401)

    Route = fw.routing.Route
    options = {"on_error": error_response} if on_error else {}
    return fw.applications.Starlette(
        routes=[
            Route("/", homepage, name="homepage"),
            Route("/dashboard", dashboard),
            Route("/admin", admin),
            Route("/sync", sync_dashboard),
            Route("/redirect", redirecting),
            Route("/sync-redirect", sync_redirecting),
            Route("/endpoint", Endpoint),
            fw.routing.WebSocketRoute("/ws", websocket_endpoint),
        ],
        middleware=[
            fw.middleware.Middleware(middleware_module.AuthenticationMiddleware, backend=BasicAuth(), **options)
        ],
    )


def with_endpoints(fw: SimpleNamespace) -> SimpleNamespace:
    fw.endpoints = importlib.import_module(f"{fw.name}.endpoints")
    return fw


def basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:pw".encode()).decode()}


HEADERS: list[dict[str, str]] = [
    {},
    basic("tomchristie"),
    basic("admin"),
    {"Authorization": "Bearer token"},
    {"Authorization": "Basic !!!not-base64"},
]


@pytest.mark.parametrize("on_error", [False, True])
@pytest.mark.parametrize(
    "path", ["/", "/dashboard", "/admin", "/sync", "/redirect", "/sync-redirect", "/endpoint", "/redirect?x=1"]
)
def test_authentication_matches_starlette(both: Any, path: str, on_error: bool) -> None:
    request = both(lambda fw: auth_app(with_endpoints(fw), on_error=on_error), follow_redirects=False)
    for headers in HEADERS:
        request("GET", path, headers=headers)


@pytest.mark.parametrize("headers", HEADERS)
def test_websocket_requires(headers: dict[str, str]) -> None:
    def outcome(fw: SimpleNamespace) -> Any:
        client = fw.testclient.TestClient(auth_app(with_endpoints(fw)))
        try:
            with client.websocket_connect("/ws", headers=headers) as websocket:
                return websocket.receive_json()
        except Exception as exc:
            return type(exc).__name__, getattr(exc, "code", None)

    assert outcome(TACHYON) == outcome(STARLETTE)


def test_requires_needs_request_or_websocket_argument() -> None:
    with pytest.raises(Exception, match='No "request" or "websocket" argument on function'):

        @requires("authenticated")
        def endpoint(conn: Any) -> None:  # pragma: no cover
            pass


def test_requires_checks_argument_type() -> None:
    @requires("authenticated")
    def endpoint(request: Any) -> None:  # pragma: no cover
        pass

    with pytest.raises(AssertionError, match="Parameter with name 'request' is required to be of type 'Request' not"):
        endpoint("not a request")


def test_users_and_credentials() -> None:
    assert AuthCredentials().scopes == []
    assert AuthCredentials(("a", "b")).scopes == ["a", "b"]
    user = SimpleUser("ann")
    assert (user.is_authenticated, user.display_name, user.identity) == (True, "ann", "ann")
    anonymous = UnauthenticatedUser()
    assert (anonymous.is_authenticated, anonymous.display_name, anonymous.identity) == (False, "", "")
    conn = SimpleNamespace(auth=AuthCredentials(["a", "b"]))
    assert has_required_scope(conn, ["a"])  # type: ignore[arg-type]
    assert has_required_scope(conn, [])  # type: ignore[arg-type]
    assert not has_required_scope(conn, ["a", "c"])  # type: ignore[arg-type]

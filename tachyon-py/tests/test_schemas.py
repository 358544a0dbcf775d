"""tachyon.schemas against starlette.schemas: the same routes give the same schema and YAML."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest


def schema_app(fw: SimpleNamespace, openapi: str) -> Any:
    schemas = importlib.import_module(f"{fw.name}.schemas")
    endpoints = importlib.import_module(f"{fw.name}.endpoints")
    Route, Mount, Host, WebSocketRoute = fw.routing.Route, fw.routing.Mount, fw.routing.Host, fw.routing.WebSocketRoute
    generator = schemas.SchemaGenerator({"openapi": openapi, "info": {"title": "Example API", "version": "1.0"}})

    def list_users(request: Any) -> Any:
        """
        responses:
          200:
            description: A list of users.
            examples:
              [{"username": "tom"}, {"username": "lucy"}]
        """

    def create_user(request: Any) -> Any:
        """
        Prose comes first.
        ---
        responses:
          200:
            description: A user.
        """

    def get_user(request: Any) -> Any:
        """
        responses:
          200:
            description: A user.
        """

    def plain_doc(request: Any) -> Any:
        """Just a sentence, no schema."""

    def undocumented(request: Any) -> Any:
        pass

    def hidden(request: Any) -> Any:
        """
        responses:
          200:
            description: Hidden.
        """

    class Organisations(endpoints.HTTPEndpoint):
        def get(self, request: Any) -> Any:
            """
            responses:
              200:
                description: A list of organisations.
            """

        def post(self, request: Any) -> Any:
            """
            responses:
              200:
                description: An organisation.
            """

        def query(self, request: Any) -> Any:
            """
            responses:
              200:
                description: Queried organisations.
            """

    def ws(websocket: Any) -> None:  # pragma: no cover
        pass

    def schema(request: Any) -> Any:
        return generator.OpenAPIResponse(request=request)

    subapp = fw.applications.Starlette(routes=[Route("/subapp-endpoint", get_user)])
    return fw.applications.Starlette(
        routes=[
            WebSocketRoute("/ws", ws),
            Route("/users", list_users, methods=["GET", "HEAD"]),
            Route("/users", create_user, methods=["POST"]),
            Route("/users/{id:int}", get_user, methods=["GET", "PUT"]),
            Route("/plain", plain_doc),
            Route("/undocumented", undocumented),
            Route("/hidden", hidden, include_in_schema=False),
            Route("/orgs", Organisations),
            Mount("/subapp/{tenant:str}", subapp),
            Mount("/nested", routes=[Route("/deep/{name}", get_user)]),
            Host("api.example.com", app=fw.routing.Router(routes=[Route("/host-route", list_users)])),
            Route("/schema", schema, methods=["GET"], include_in_schema=False),
        ]
    )


@pytest.mark.parametrize("openapi", ["3.0.0", "3.2.0", "3.10", ""])
def test_schema_matches_starlette(both: Any, openapi: str) -> None:
    request = both(lambda fw: schema_app(fw, openapi))
    response = request("GET", "/schema")
    assert response.headers["content-type"] == "application/vnd.oai.openapi"
    assert b"/users/{id}" in response.content


def test_get_endpoints_match_starlette() -> None:
    from conftest import STARLETTE, TACHYON

    def endpoints(fw: SimpleNamespace) -> list[tuple[str, str, str]]:
        schemas = importlib.import_module(f"{fw.name}.schemas")
        app = schema_app(fw, "3.0.0")
        generator = schemas.SchemaGenerator({})
        return [(e.path, e.http_method, e.func.__qualname__) for e in generator.get_endpoints(app.routes)]

    ours = endpoints(TACHYON)
    assert ours == endpoints(STARLETTE)
    assert ("/subapp/{tenant}/subapp-endpoint", "get", "schema_app.<locals>.get_user") in ours


def test_openapi_response_validates_content() -> None:
    from tachyon.schemas import EndpointInfo, OpenAPIResponse

    assert OpenAPIResponse({"a": [1, 2]}).body == b"a:\n- 1\n- 2\n"
    with pytest.raises(AssertionError, match="The schema passed to OpenAPIResponse should be a dictionary."):
        OpenAPIResponse([1])
    assert EndpointInfo("/", "get", print)._fields == ("path", "http_method", "func")

"""OpenAPI schemas built from endpoint docstrings (the YAML after a `---` line)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from tachyon.requests import Request
from tachyon.responses import Response
from tachyon.routing import BaseRoute, Host, Mount, Route

try:
    import yaml
except ModuleNotFoundError:  # pragma: no cover
    yaml = None  # type: ignore[assignment]

__all__ = ["BaseSchemaGenerator", "EndpointInfo", "OpenAPIResponse", "SchemaGenerator"]

# `{id:int}` is `{id}` in an OpenAPI path.
_remove_converter_pattern = re.compile(r":\w+}")
_OPENAPI_VERSION = re.compile(r"^(\d+)\.(\d+)")
_SCHEMA_METHODS = ("get", "post", "put", "patch", "delete", "options", "query")


class OpenAPIResponse(Response):
    """A schema dict rendered as YAML (needs pyyaml)."""

    media_type = "application/vnd.oai.openapi"

    def render(self, content: Any) -> bytes:
        assert yaml is not None, "`pyyaml` must be installed to use OpenAPIResponse."
        assert isinstance(content, dict), "The schema passed to OpenAPIResponse should be a dictionary."
        return yaml.dump(content, default_flow_style=False).encode("utf-8")


class EndpointInfo(NamedTuple):
    """One operation: its path, lower-case HTTP method, and the function documenting it."""

    path: str
    http_method: str
    func: Callable[..., Any]


class BaseSchemaGenerator:
    """Walks routes (into Mounts and Hosts) to find the documented operations."""

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        raise NotImplementedError()  # pragma: no cover

    def get_endpoints(self, routes: list[BaseRoute]) -> list[EndpointInfo]:
        """Every operation below `routes`, in route order.

        A function endpoint gives one entry per method (HEAD left out, GET if it has no
        methods); a class endpoint gives one per method it defines.
        """
        found: list[EndpointInfo] = []
        for route in routes:
            if isinstance(route, Mount | Host):
                prefix = self._remove_converter(route.path) if isinstance(route, Mount) else ""
                found.extend(
                    EndpointInfo(prefix + inner.path, inner.http_method, inner.func)
                    for inner in self.get_endpoints(route.routes or [])
                )
            elif not isinstance(route, Route) or not route.include_in_schema:
                continue
            elif inspect.isfunction(route.endpoint) or inspect.ismethod(route.endpoint):
                path = self._remove_converter(route.path)
                for method in route.methods or ["GET"]:
                    if method != "HEAD":
                        found.append(EndpointInfo(path, method.lower(), route.endpoint))
            else:
                path = self._remove_converter(route.path)
                for method in _SCHEMA_METHODS:
                    if hasattr(route.endpoint, method):
                        found.append(EndpointInfo(path, method, getattr(route.endpoint, method)))
        return found

    def _remove_converter(self, path: str) -> str:
        """`/users/{id:int}` becomes `/users/{id}`."""
        return _remove_converter_pattern.sub("}", path)

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        """The YAML mapping after the last `---` of the docstring; `{}` if there is none."""
        docstring = func_or_method.__doc__
        if not docstring:
            return {}
        assert yaml is not None, "`pyyaml` must be installed to use parse_docstring."
        # Prose may come first; only the part after the last `---` is the schema.
        parsed = yaml.safe_load(docstring.split("---")[-1])
        return parsed if isinstance(parsed, dict) else {}

    def OpenAPIResponse(self, request: Request) -> Response:
        """An endpoint serving the schema of the requesting app's routes."""
        return OpenAPIResponse(self.get_schema(routes=request.app.routes))


class SchemaGenerator(BaseSchemaGenerator):
    """Fills `base_schema["paths"]` from the docstrings (QUERY only for OpenAPI >= 3.2)."""

    def __init__(self, base_schema: dict[str, Any]) -> None:
        self.base_schema = base_schema

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        schema = dict(self.base_schema)
        paths = schema.setdefault("paths", {})
        version = _OPENAPI_VERSION.match(str(schema.get("openapi", "")))
        supports_query = version is not None and (int(version[1]), int(version[2])) >= (3, 2)

        for endpoint in self.get_endpoints(routes):
            if endpoint.http_method == "query" and not supports_query:
                continue
            parsed = self.parse_docstring(endpoint.func)
            if parsed:
                paths.setdefault(endpoint.path, {})[endpoint.http_method] = parsed
        return schema

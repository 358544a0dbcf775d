"""Rendering Jinja2 templates into HTML responses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, overload

from tachyon.background import BackgroundTask
from tachyon.datastructures import URL
from tachyon.requests import Request
from tachyon.responses import HTMLResponse
from tachyon.types import Receive, Scope, Send

try:
    import jinja2
except ImportError as _import_error:  # pragma: no cover
    raise ImportError("jinja2 must be installed to use Jinja2Templates") from _import_error

__all__ = ["Jinja2Templates"]


class _TemplateResponse(HTMLResponse):
    """An HTML response rendered from `template`; keeps the template and context for tests."""

    def __init__(
        self,
        template: Any,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ):
        self.template = template
        self.context = context
        super().__init__(template.render(context), status_code, headers, media_type, background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The TestClient advertises http.response.debug to learn which template and context
        # produced the response (`response.template`, `response.context`).
        request = self.context.get("request", {})
        if "http.response.debug" in request.get("extensions", {}):
            await send({"type": "http.response.debug", "info": {"template": self.template, "context": self.context}})
        await super().__call__(scope, receive, send)


class Jinja2Templates:
    """Renders Jinja2 templates into responses, with `url_for` available in every template.

    ```python
    templates = Jinja2Templates(directory="templates")

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html", {"title": "Home"})
    ```
    """

    @overload
    def __init__(
        self,
        directory: str | PathLike[str] | Sequence[str | PathLike[str]],
        *,
        context_processors: list[Callable[[Request], dict[str, Any]]] | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        *,
        env: jinja2.Environment,
        context_processors: list[Callable[[Request], dict[str, Any]]] | None = None,
    ) -> None: ...

    def __init__(
        self,
        directory: str | PathLike[str] | Sequence[str | PathLike[str]] | None = None,
        *,
        context_processors: list[Callable[[Request], dict[str, Any]]] | None = None,
        env: jinja2.Environment | None = None,
    ) -> None:
        assert bool(directory) ^ bool(env), "either 'directory' or 'env' arguments must be passed"
        self.context_processors = context_processors or []
        if directory is not None:
            self.env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(directory), autoescape=jinja2.select_autoescape()
            )
        elif env is not None:  # pragma: no branch
            self.env = env
        self._setup_env_defaults(self.env)

    def _setup_env_defaults(self, env: jinja2.Environment) -> None:
        @jinja2.pass_context
        def url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
            request: Request = context["request"]
            return request.url_for(name, **path_params)

        # setdefault: an environment that already defines url_for keeps its own.
        env.globals.setdefault("url_for", url_for)

    def get_template(self, name: str) -> jinja2.Template:
        """Load template `name` from the environment."""
        return self.env.get_template(name)

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        """Render template `name` with `context` (plus `request` and the context processors' output)."""
        context = context or {}
        context.setdefault("request", request)
        for context_processor in self.context_processors:
            context.update(context_processor(request))
        return _TemplateResponse(
            self.get_template(name),
            context,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            background=background,
        )

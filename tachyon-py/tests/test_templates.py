"""Jinja2Templates against Starlette's: the same templates rendered by both, the same bytes."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import jinja2
import pytest
from conftest import STARLETTE, TACHYON

from tachyon.templating import Jinja2Templates

FRAMEWORKS = [STARLETTE, TACHYON]


def templating(fw: SimpleNamespace) -> Any:
    return importlib.import_module(f"{fw.name}.templating")


def background_task(fw: SimpleNamespace) -> Any:
    return importlib.import_module(f"{fw.name}.background").BackgroundTask


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(
        "<h1>{{ title }}</h1><a href='{{ url_for('user', name=name) }}'>{{ name }}</a>"
        "<link href='{{ url_for('static', path='/app.css') }}'>{{ request.url.path }}"
    )
    (tmp_path / "plain.txt").write_text("{{ text }}")
    (tmp_path / "processors.html").write_text("{{ user }} / {{ theme }} / {{ request.method }}")
    (tmp_path / "base.html").write_text("<main>{% block body %}{% endblock %}</main>")
    (tmp_path / "child.html").write_text("{% extends 'base.html' %}{% block body %}{{ x }}{% endblock %}")
    return tmp_path


def templates_app(directory: Path, **template_kwargs: Any) -> Callable[[SimpleNamespace], Any]:
    def build(fw: SimpleNamespace) -> Any:
        templates = templating(fw).Jinja2Templates(directory=directory, **template_kwargs)
        routing = fw.routing

        async def index(request: Any) -> Any:
            context = {"title": "Héllo <&>", "name": request.query_params.get("name", "ann")}
            return templates.TemplateResponse(request, "index.html", context)

        async def plain(request: Any) -> Any:
            return templates.TemplateResponse(
                request,
                "plain.txt",
                {"text": "<b>not escaped</b>"},
                status_code=201,
                headers={"X-Template": "plain"},
                media_type="text/plain",
            )

        async def processors(request: Any) -> Any:
            return templates.TemplateResponse(request, "processors.html", {"user": "from context"})

        async def child(request: Any) -> Any:
            return templates.TemplateResponse(request, name="child.html", context={"x": [1, 2]})

        async def missing(request: Any) -> Any:
            return templates.TemplateResponse(request, "missing.html")

        async def user(request: Any) -> Any:
            return fw.responses.PlainTextResponse(request.path_params["name"])  # pragma: no cover

        return fw.applications.Starlette(
            routes=[
                routing.Route("/", index),
                routing.Route("/plain", plain, methods=["GET", "POST"]),
                routing.Route("/processors", processors, methods=["GET", "PUT"]),
                routing.Route("/child", child),
                routing.Route("/missing", missing),
                routing.Route("/users/{name}", user, name="user"),
                routing.Mount("/static", routes=[], name="static"),
            ]
        )

    return build


def user_processor(request: Any) -> dict[str, Any]:
    return {"user": "from processor", "theme": request.query_params.get("theme", "light")}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("HEAD", "/"),
        ("GET", "/?name=b%C3%B6b%20%3Cx%3E"),
        ("GET", "/plain"),
        ("POST", "/plain"),
        ("GET", "/child"),
        ("GET", "/processors?theme=dark"),
        ("PUT", "/processors"),
    ],
)
def test_rendering_matches_starlette(both: Callable[..., Any], template_dir: Path, method: str, path: str) -> None:
    both(templates_app(template_dir, context_processors=[user_processor]))(method, path)


def test_rendered_content(template_dir: Path) -> None:
    client = TACHYON.testclient.TestClient(templates_app(template_dir)(TACHYON))
    response = client.get("/?name=zoë")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == (
        "<h1>Héllo &lt;&amp;&gt;</h1><a href='http://testserver/users/zoë'>zoë</a>"
        "<link href='http://testserver/static/app.css'>/"
    )
    plain = client.post("/plain")
    assert (plain.status_code, plain.text, plain.headers["x-template"]) == (201, "<b>not escaped</b>", "plain")
    assert plain.headers["content-type"] == "text/plain; charset=utf-8"


def test_context_processors_override_context(template_dir: Path) -> None:
    app = templates_app(template_dir, context_processors=[user_processor])(TACHYON)
    response = TACHYON.testclient.TestClient(app).get("/processors")
    assert response.text == "from processor / light / GET"


def test_debug_extension_exposes_template_and_context(template_dir: Path) -> None:
    for fw in FRAMEWORKS:
        response = fw.testclient.TestClient(templates_app(template_dir)(fw)).get("/child")
        assert response.template.name == "child.html"
        assert response.context["x"] == [1, 2]
        assert response.context["request"].url.path == "/child"
        assert set(response.context) == {"x", "request"}


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_missing_template_raises(fw: SimpleNamespace, template_dir: Path) -> None:
    client = fw.testclient.TestClient(templates_app(template_dir)(fw))
    with pytest.raises(jinja2.TemplateNotFound, match="missing.html"):
        client.get("/missing")


def test_no_debug_message_without_the_extension(template_dir: Path) -> None:
    def messages(fw: SimpleNamespace) -> list[dict[str, Any]]:
        templates = templating(fw).Jinja2Templates(directory=template_dir)
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        request = fw.requests.Request(scope)
        response = templates.TemplateResponse(request, "plain.txt", {"text": "hi"})
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:  # pragma: no cover
            return {"type": "http.request"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        anyio.run(response, scope, receive, send)
        return sent

    ours = messages(TACHYON)
    assert ours == messages(STARLETTE)
    assert [m["type"] for m in ours] == ["http.response.start", "http.response.body"]


def test_explicit_request_in_context_is_kept(template_dir: Path) -> None:
    # context.setdefault: a "request" already in the context is left as given.
    templates = Jinja2Templates(directory=template_dir)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    request = TACHYON.requests.Request(scope)
    context = {"request": "given", "text": "x"}
    response = templates.TemplateResponse(request, "plain.txt", context)
    assert response.context is context and context["request"] == "given"


def test_background_task(both: Callable[..., Any], template_dir: Path) -> None:
    ran: list[str] = []

    def build(fw: SimpleNamespace) -> Any:
        templates = templating(fw).Jinja2Templates(directory=template_dir)

        async def endpoint(request: Any) -> Any:
            task = background_task(fw)(ran.append, fw.name)
            return templates.TemplateResponse(request, "plain.txt", {"text": "bg"}, background=task)

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    assert both(build)("GET", "/").text == "bg"
    assert ran == ["starlette", "tachyon"]


def test_env_argument_and_its_own_url_for(both: Callable[..., Any]) -> None:
    def build(fw: SimpleNamespace) -> Any:
        loader = jinja2.DictLoader({"a.html": "{{ url_for('x') }}|{{ shout('hi') }}"})
        env = jinja2.Environment(loader=loader, autoescape=True)
        env.globals["url_for"] = lambda name: f"custom:{name}"
        env.globals["shout"] = str.upper
        templates = templating(fw).Jinja2Templates(env=env)
        assert templates.env is env

        async def endpoint(request: Any) -> Any:
            return templates.TemplateResponse(request, "a.html")

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint)])

    assert both(build)("GET", "/").text == "custom:x|HI"


def test_several_directories(both: Callable[..., Any], tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "shared.html").write_text("first")
    (second / "shared.html").write_text("second")
    (second / "only.html").write_text("only in second")

    def build(fw: SimpleNamespace) -> Any:
        templates = templating(fw).Jinja2Templates(directory=[first, str(second)])

        async def endpoint(request: Any) -> Any:
            return templates.TemplateResponse(request, request.path_params["name"])

        return fw.applications.Starlette(routes=[fw.routing.Route("/{name}", endpoint)])

    request = both(build)
    assert request("GET", "/shared.html").text == "first"
    assert request("GET", "/only.html").text == "only in second"


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_directory_or_env_required(fw: SimpleNamespace, template_dir: Path) -> None:
    cls = templating(fw).Jinja2Templates
    message = "either 'directory' or 'env' arguments must be passed"
    with pytest.raises(AssertionError, match=message):
        cls()
    with pytest.raises(AssertionError, match=message):
        cls(directory=template_dir, env=jinja2.Environment())


def test_autoescape_follows_the_extension(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    assert templates.get_template("plain.txt").render(text="<b>") == "<b>"
    assert templates.get_template("child.html").render(x="<b>") == "<main>&lt;b&gt;</main>"
    assert "url_for" in templates.env.globals

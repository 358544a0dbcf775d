"""StaticFiles against Starlette's: the same tree served by both, the same requests, the same bytes."""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from conftest import STARLETTE, TACHYON

from tachyon.datastructures import Headers
from tachyon.staticfiles import NotModifiedResponse, StaticFiles

FRAMEWORKS = [STARLETTE, TACHYON]


def staticfiles_module(fw: SimpleNamespace) -> Any:
    return importlib.import_module(f"{fw.name}.staticfiles")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A served directory, and a secret file beside it that must never be reachable."""
    (tmp_path / "secret.txt").write_text("top secret")
    root = tmp_path / "public"
    root.mkdir()
    (root / "hello.txt").write_text("Hello, world!")
    (root / "page.html").write_text("<h1>page</h1>")
    (root / "data.json").write_text('{"a": 1}')
    (root / "with space.txt").write_text("spaced")
    (root / "ünïcode.txt").write_text("unicode name")
    (root / "big.bin").write_bytes(bytes(range(256)) * 512)
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text("<p>sub index</p>")
    (root / "sub" / "inner.css").write_text("body {}")
    (root / "noindex").mkdir()
    (root / "noindex" / "file.txt").write_text("no index here")
    (root / "index.html").write_text("<p>root index</p>")
    return root


def mounted(directory: Path | None = None, **kwargs: Any) -> Callable[[SimpleNamespace], Any]:
    def build(fw: SimpleNamespace) -> Any:
        static = staticfiles_module(fw).StaticFiles(directory=directory, **kwargs)
        return fw.applications.Starlette(routes=[fw.routing.Mount("/static", app=static, name="static")])

    return build


PLAIN_REQUESTS = [
    ("GET", "/static/hello.txt"),
    ("HEAD", "/static/hello.txt"),
    ("GET", "/static/page.html"),
    ("GET", "/static/data.json"),
    ("GET", "/static/with%20space.txt"),
    ("GET", "/static/%C3%BCn%C3%AFcode.txt"),
    ("GET", "/static/big.bin"),
    ("GET", "/static/sub/inner.css"),
    ("GET", "/static/sub/./inner.css"),
    ("GET", "/static/sub/../hello.txt"),
    ("GET", "/static/sub/%2e%2e/hello.txt"),
    ("GET", "/static/missing.txt"),
    ("HEAD", "/static/missing.txt"),
    ("GET", "/static/sub"),
    ("GET", "/static/sub/"),
    ("GET", "/static/"),
    ("GET", "/static"),
    ("GET", "/static/hello.txt/"),
    ("GET", "/static/hello.txt/more"),
    ("POST", "/static/hello.txt"),
    ("PUT", "/static/missing.txt"),
    ("DELETE", "/static/sub/"),
    ("OPTIONS", "/static/hello.txt"),
]

# Every one of these tries to reach secret.txt (or something else outside the served tree).
TRAVERSALS = [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%2Fsecret.txt",
    "/static/sub/%2e%2e/%2e%2e/secret.txt",
    "/static/sub/..%2f..%2fsecret.txt",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/%2F%2Fetc%2Fpasswd",
    "/static/%5cetc%5cpasswd",
    f"/static/{'%2e%2e/' * 30}etc/passwd",
    "/static/hello.txt%00.png",
    "/static/%00",
    "/static/" + "a" * 300,
    "/static/" + "a/" * 3000,
    "/static/%ff%fe",
    "/static/%C0%AE%C0%AE/secret.txt",
]


@pytest.mark.parametrize(("method", "path"), PLAIN_REQUESTS)
@pytest.mark.parametrize("html", [False, True], ids=["files", "html"])
def test_requests_match_starlette(both: Callable[..., Any], tree: Path, html: bool, method: str, path: str) -> None:
    both(mounted(tree, html=html))(method, path)


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("html", [False, True], ids=["files", "html"])
@pytest.mark.parametrize("follow_symlink", [False, True], ids=["realpath", "follow"])
def test_traversal_refused(both: Callable[..., Any], tree: Path, path: str, html: bool, follow_symlink: bool) -> None:
    response = both(mounted(tree, html=html, follow_symlink=follow_symlink))("GET", path)
    assert response.status_code == 404
    assert b"secret" not in response.content and b"root:" not in response.content


def test_served_headers(tree: Path) -> None:
    response = TACHYON.testclient.TestClient(mounted(tree)(TACHYON)).get("/static/hello.txt")
    assert response.status_code == 200
    assert response.text == "Hello, world!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "13"
    assert response.headers["accept-ranges"] == "bytes"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert response.headers["last-modified"].endswith(" GMT")


def test_method_not_allowed(tree: Path) -> None:
    response = TACHYON.testclient.TestClient(mounted(tree)(TACHYON)).post("/static/hello.txt")
    assert (response.status_code, response.text, response.headers["allow"]) == (405, "Method Not Allowed", "GET, HEAD")


def test_html_mode(both: Callable[..., Any], tree: Path) -> None:
    request = both(mounted(tree, html=True))
    assert request("GET", "/static/sub/").text == "<p>sub index</p>"
    redirect = request("GET", "/static/sub", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (307, "http://testserver/static/sub/")
    assert request("GET", "/static/sub?x=1", follow_redirects=False).headers["location"].endswith("/static/sub/?x=1")
    assert request("GET", "/static/noindex/").status_code == 404
    assert request("GET", "/static/nothing").status_code == 404


def test_html_mode_404_page(both: Callable[..., Any], tree: Path) -> None:
    (tree / "404.html").write_text("<h1>Custom not found</h1>")
    request = both(mounted(tree, html=True))
    for method, path in [("GET", "/static/nothing"), ("HEAD", "/static/nothing"), ("GET", "/static/noindex/")]:
        response = request(method, path)
        assert response.status_code == 404
    assert request("GET", "/static/nothing").text == "<h1>Custom not found</h1>"
    # A Range header does not apply to the 404 page.
    assert request("GET", "/static/nothing", headers={"Range": "bytes=0-3"}).status_code == 404
    # Outside html mode the 404 page is just a file.
    assert both(mounted(tree))("GET", "/static/nothing").text == "Not Found"


def test_ranges_through_staticfiles(both: Callable[..., Any], tree: Path) -> None:
    request = both(mounted(tree))
    assert request("GET", "/static/big.bin", headers={"Range": "bytes=0-99"}).status_code == 206
    assert request("GET", "/static/big.bin", headers={"Range": "bytes=-10"}).content == bytes(range(246, 256))
    assert request("GET", "/static/big.bin", headers={"Range": "bytes=999999-"}).status_code == 416
    assert request("GET", "/static/big.bin", headers={"Range": "bytes=9-1"}).status_code == 400
    assert request("HEAD", "/static/big.bin", headers={"Range": "bytes=5-9"}).status_code == 206


def conditional_cases(etag: str, last_modified: str) -> list[dict[str, str]]:
    return [
        {"if-none-match": etag},
        {"if-none-match": "W/" + etag},
        {"if-none-match": f'"other", {etag}'},
        {"if-none-match": f' "other" ,  W/{etag} '},
        {"if-none-match": '"other"'},
        {"if-none-match": "*"},
        {"if-none-match": " * "},
        {"if-none-match": ""},
        {"if-none-match": etag[1:-1]},
        {"if-none-match": '"other"', "if-modified-since": last_modified},
        {"if-modified-since": last_modified},
        {"if-modified-since": "Fri, 31 Dec 9999 23:59:59 GMT"},
        {"if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        {"if-modified-since": "garbage"},
        {"if-modified-since": ""},
        {"if-modified-since": "Mon, 32 Foo 2020 99:99:99 GMT"},
        {"if-modified-since": last_modified.replace("GMT", "+0900")},
        {"if-none-match": etag, "range": "bytes=0-1"},
    ]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("case", range(18))
def test_conditional_requests(both: Callable[..., Any], tree: Path, method: str, case: int) -> None:
    request = both(mounted(tree))
    plain = request("GET", "/static/hello.txt")
    headers = conditional_cases(plain.headers["etag"], plain.headers["last-modified"])[case]
    request(method, "/static/hello.txt", headers=headers)


def test_not_modified_response_shape(both: Callable[..., Any], tree: Path) -> None:
    request = both(mounted(tree))
    etag = request("GET", "/static/hello.txt").headers["etag"]
    response = request("GET", "/static/hello.txt", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert list(response.headers.raw) == [(b"etag", etag.encode())]
    assert response.content == b""


def test_not_modified_keeps_only_cache_headers() -> None:
    headers = Headers(
        {
            "etag": '"x"',
            "cache-control": "max-age=60",
            "vary": "accept-encoding",
            "content-length": "10",
            "content-type": "text/plain",
            "last-modified": "now",
            "date": "today",
            "expires": "later",
            "content-location": "/x",
        }
    )
    response = NotModifiedResponse(headers)
    theirs = staticfiles_module(STARLETTE).NotModifiedResponse(STARLETTE.datastructures.Headers(dict(headers.items())))
    assert response.status_code == 304
    assert response.raw_headers == theirs.raw_headers
    assert [k for k, _ in response.raw_headers] == [
        b"etag",
        b"cache-control",
        b"vary",
        b"date",
        b"expires",
        b"content-location",
    ]


def test_symlinks(both: Callable[..., Any], tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.txt").write_text("linked content")
    os.symlink(outside / "linked.txt", tree / "link.txt")
    os.symlink(outside, tree / "linkdir")
    os.symlink(tree / "hello.txt", tree / "inside-link.txt")
    os.symlink(tree / "loop", tree / "loop")

    strict = both(mounted(tree))
    assert strict("GET", "/static/link.txt").status_code == 404
    assert strict("GET", "/static/linkdir/linked.txt").status_code == 404
    assert strict("GET", "/static/inside-link.txt").text == "Hello, world!"

    follow = both(mounted(tree, follow_symlink=True))
    assert follow("GET", "/static/link.txt").text == "linked content"
    assert follow("GET", "/static/linkdir/linked.txt").text == "linked content"
    assert follow("GET", "/static/linkdir/../../secret.txt").status_code == 404
    assert follow("GET", "/static/linkdir/%2e%2e/secret.txt").status_code == 404


@pytest.mark.parametrize("follow_symlink", [False, True])
def test_symlink_loop_is_404_not_500(tree: Path, follow_symlink: bool) -> None:
    # Starlette lets the ELOOP OSError escape (a 500); any client could trigger it, so it is a 404 here.
    os.symlink(tree / "loop", tree / "loop")
    client = TACHYON.testclient.TestClient(mounted(tree, follow_symlink=follow_symlink)(TACHYON))
    assert client.get("/static/loop").status_code == 404
    assert client.get("/static/loop/x").status_code == 404


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PermissionError(13, "Permission denied"), 401),
        (OSError(36, "File name too long"), 404),
        (ValueError("embedded null byte"), 404),
        (UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"), 404),
    ],
)
def test_lookup_errors_become_http_errors(
    both: Callable[..., Any], tree: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    # Root reads any directory, so an unreadable one is simulated where the lookup happens.
    def failing_lookup(self: Any, path: str) -> Any:
        raise error

    for fw in FRAMEWORKS:
        monkeypatch.setattr(staticfiles_module(fw).StaticFiles, "lookup_path", failing_lookup)
    assert both(mounted(tree))("GET", "/static/hello.txt").status_code == status


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_other_os_errors_propagate(fw: SimpleNamespace, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_lookup(self: Any, path: str) -> Any:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(staticfiles_module(fw).StaticFiles, "lookup_path", failing_lookup)
    with pytest.raises(OSError, match="Input/output error"):
        fw.testclient.TestClient(mounted(tree)(fw)).get("/static/hello.txt")


def test_several_directories_and_packages(
    both: Callable[..., Any], tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages_root = tmp_path / "pkgs"
    for name, statics in [("pkg_one", "statics"), ("pkg_two", "assets")]:
        (packages_root / name / statics).mkdir(parents=True)
        (packages_root / name / "__init__.py").write_text("")
        (packages_root / name / statics / f"{name}.txt").write_text(name)
        (packages_root / name / statics / "hello.txt").write_text(f"hello from {name}")
    monkeypatch.syspath_prepend(str(packages_root))
    importlib.invalidate_caches()

    request = both(mounted(tree, packages=["pkg_one", ("pkg_two", "assets")]))
    assert request("GET", "/static/hello.txt").text == "Hello, world!"  # the directory comes first
    assert request("GET", "/static/pkg_one.txt").text == "pkg_one"
    assert request("GET", "/static/pkg_two.txt").text == "pkg_two"

    only_packages = both(mounted(None, packages=["pkg_one"]))
    assert only_packages("GET", "/static/hello.txt").text == "hello from pkg_one"
    assert only_packages("GET", "/static/%2e%2e/__init__.py").status_code == 404

    app = StaticFiles(packages=["pkg_one", ("pkg_two", "assets")])
    assert app.all_directories == [
        str(packages_root / "pkg_one" / "statics"),
        str(packages_root / "pkg_two" / "assets"),
    ]


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_package_errors(fw: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pkg_bare").mkdir()
    (tmp_path / "pkg_bare" / "__init__.py").write_text("")
    (tmp_path / "pkg_namespace").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    static_files = staticfiles_module(fw).StaticFiles

    with pytest.raises(AssertionError, match=re.escape("Package 'no_such_package_xyz' could not be found.")):
        static_files(packages=["no_such_package_xyz"])
    with pytest.raises(AssertionError, match=re.escape("Package 'pkg_namespace' could not be found.")):
        static_files(packages=["pkg_namespace"])
    with pytest.raises(
        AssertionError, match=re.escape("Directory ''statics'' in package 'pkg_bare' could not be found.")
    ):
        static_files(packages=["pkg_bare"])


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=lambda fw: fw.name)
def test_directory_checks(fw: SimpleNamespace, tmp_path: Path) -> None:
    static_files = staticfiles_module(fw).StaticFiles
    missing = tmp_path / "missing"
    with pytest.raises(RuntimeError, match=re.escape(f"Directory '{missing}' does not exist")):
        static_files(directory=missing)

    client = fw.testclient.TestClient(static_files(directory=missing, check_dir=False))
    with pytest.raises(RuntimeError, match=re.escape(f"StaticFiles directory '{missing}' does not exist.")):
        client.get("/")

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    client = fw.testclient.TestClient(static_files(directory=a_file, check_dir=False))
    with pytest.raises(RuntimeError, match=re.escape(f"StaticFiles path '{a_file}' is not a directory.")):
        client.get("/")


def test_config_checked_once(tree: Path) -> None:
    app = StaticFiles(directory=tree)
    client = TACHYON.testclient.TestClient(app)
    assert client.get("/hello.txt").text == "Hello, world!"
    assert app.config_checked
    tree.rename(tree.with_name("moved"))
    with pytest.raises(TACHYON.exceptions.HTTPException):  # no exception middleware around a bare app
        client.get("/hello.txt")


def test_bare_app_raises_http_exceptions(tree: Path) -> None:
    client = TACHYON.testclient.TestClient(StaticFiles(directory=tree))
    with pytest.raises(TACHYON.exceptions.HTTPException) as not_found:
        client.get("/nothing")
    assert not_found.value.status_code == 404
    with pytest.raises(TACHYON.exceptions.HTTPException) as not_allowed:
        client.post("/hello.txt")
    assert (not_allowed.value.status_code, not_allowed.value.headers) == (405, {"Allow": "GET, HEAD"})


def test_websocket_is_closed() -> None:
    def run(fw: SimpleNamespace) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        static = staticfiles_module(fw).StaticFiles(directory=".")
        anyio.run(static, {"type": "websocket", "path": "/x", "headers": []}, receive, send)
        return sent

    assert run(TACHYON) == run(STARLETTE) == [{"type": "websocket.close", "code": 1000, "reason": ""}]


@pytest.mark.parametrize(
    "route_path",
    ["", "/", "/a/b", "a/b", "/a/../b", "/../../x", "/a//b/", "/./a", "\\a\\b", "/a/%2e"],
)
def test_get_path_matches_starlette(route_path: str) -> None:
    scope = {"type": "http", "path": route_path, "root_path": ""}
    theirs = staticfiles_module(STARLETTE).StaticFiles(directory=".").get_path(scope)
    assert StaticFiles(directory=".").get_path(scope) == theirs


def test_lookup_refuses_absolute_paths(tree: Path) -> None:
    app = StaticFiles(directory=tree)
    assert app.lookup_path(str(tree.parent / "secret.txt")) == ("", None)
    assert app.lookup_path("\\secret.txt") == ("", None)
    full_path, stat_result = app.lookup_path("hello.txt")
    assert full_path == os.path.realpath(tree / "hello.txt") and stat_result is not None


def test_root_path_mount(both: Callable[..., Any], tree: Path) -> None:
    def build(fw: SimpleNamespace) -> Any:
        static = staticfiles_module(fw).StaticFiles(directory=tree, html=True)
        inner = fw.applications.Starlette(routes=[fw.routing.Mount("/assets", app=static)])
        return fw.applications.Starlette(routes=[fw.routing.Mount("/app", app=inner)])

    request = both(build)
    assert request("GET", "/app/assets/hello.txt").text == "Hello, world!"
    assert request("GET", "/app/assets/sub", follow_redirects=False).headers["location"].endswith("/app/assets/sub/")
    assert request("GET", "/app/assets/").text == "<p>root index</p>"


def test_module_exports() -> None:
    module = sys.modules["tachyon.staticfiles"]
    assert set(module.__all__) == {"NotModifiedResponse", "StaticFiles"}

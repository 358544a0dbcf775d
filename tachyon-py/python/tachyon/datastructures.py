"""Request and response data types: URL, headers, query parameters, multidicts, state.

The API and reprs are Starlette's, so code written against `starlette.datastructures`
works unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping, Sequence, ValuesView
from operator import itemgetter
from shlex import shlex
from typing import Any, BinaryIO, Literal, NamedTuple, TypeVar
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from tachyon._tachyon import headers_contains, headers_get, headers_getlist, parse_query
from tachyon._utils import parse_host_header
from tachyon.concurrency import run_in_threadpool
from tachyon.types import Scope

__all__ = [
    "URL",
    "Address",
    "CommaSeparatedStrings",
    "FormData",
    "Headers",
    "ImmutableMultiDict",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "Secret",
    "State",
    "URLPath",
    "UploadFile",
]

_K = TypeVar("_K")
_V = TypeVar("_V", covariant=True)

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class Address(NamedTuple):
    """A (host, port) pair, as in `request.client`."""

    host: str
    port: int


def _netloc_from_scope(scope: Scope) -> str | None:
    host_header = None
    for key, value in scope["headers"]:
        if key == b"host":
            host_header = value.decode("latin-1")
            break
    parsed = parse_host_header(host_header)
    if parsed is not None and parsed.is_valid_port:
        return parsed.authority
    server = scope.get("server")
    if server is None:
        return None
    host, port = server
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = scope.get("scheme", "http")
    return host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"


class URL:
    """An immutable URL, built from a string, from components, or from an ASGI scope."""

    def __init__(self, url: str = "", scope: Scope | None = None, **components: Any) -> None:
        if scope is not None:
            assert not url, 'Cannot set both "url" and "scope".'
            assert not components, 'Cannot set both "scope" and "**components".'
            scheme = scope.get("scheme", "http")
            path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
            query = scope.get("query_string", b"").decode()
            netloc = _netloc_from_scope(scope)
            if netloc is not None:
                url = SplitResult(scheme, netloc, path, query, "").geturl()
            else:
                if path.startswith("//"):
                    # With no host, a leading `//` would read as an authority.
                    path = "/%2F" + path[2:]
                url = f"{path}?{query}" if query else path
        elif components:
            assert not url, 'Cannot set both "url" and "**components".'
            url = URL("").replace(**components).components.geturl()
        self._url = url

    @property
    def components(self) -> SplitResult:
        """The parsed `urllib.parse.SplitResult`."""
        try:
            return self._components
        except AttributeError:
            self._components: SplitResult = urlsplit(self._url)
            return self._components

    @property
    def scheme(self) -> str:
        """The scheme, e.g. `https`."""
        return self.components.scheme

    @property
    def netloc(self) -> str:
        """The network location, `user:pass@host:port`."""
        return self.components.netloc

    @property
    def path(self) -> str:
        """The path component."""
        return self.components.path

    @property
    def query(self) -> str:
        """The query string, without `?`."""
        return self.components.query

    @property
    def fragment(self) -> str:
        """The fragment, without `#`."""
        return self.components.fragment

    @property
    def username(self) -> str | None:
        """The user name in the netloc, if any."""
        return self.components.username

    @property
    def password(self) -> str | None:
        """The password in the netloc, if any."""
        return self.components.password

    @property
    def hostname(self) -> str | None:
        """The host, lowercased, without port or brackets."""
        return self.components.hostname

    @property
    def port(self) -> int | None:
        """The explicit port, if any."""
        return self.components.port

    @property
    def is_secure(self) -> bool:
        """Whether the scheme is https or wss."""
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        """A copy with some components replaced (also username, password, hostname, port)."""
        if {"username", "password", "hostname", "port"} & kwargs.keys():
            hostname = kwargs.pop("hostname", None)
            port = kwargs.pop("port", self.port)
            username = kwargs.pop("username", self.username)
            password = kwargs.pop("password", self.password)
            if hostname is None:
                hostname = self.netloc.rpartition("@")[2]
                if hostname and hostname[-1] != "]":
                    hostname = hostname.rsplit(":", 1)[0]
            elif ":" in hostname and not hostname.startswith("["):
                try:
                    ipaddress.IPv6Address(hostname)
                except ValueError:
                    pass
                else:
                    hostname = f"[{hostname}]"
            netloc = hostname if port is None else f"{hostname}:{port}"
            if username is not None:
                userinfo = username if password is None else f"{username}:{password}"
                netloc = f"{userinfo}@{netloc}"
            kwargs["netloc"] = netloc
        return self.__class__(self.components._replace(**kwargs).geturl())

    def include_query_params(self, **kwargs: Any) -> URL:
        """A copy with these query parameters set (others kept)."""
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=urlencode(params.multi_items()))

    def replace_query_params(self, **kwargs: Any) -> URL:
        """A copy whose query is exactly these parameters."""
        return self.replace(query=urlencode([(str(key), str(value)) for key, value in kwargs.items()]))

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        """A copy without the given query parameters."""
        if isinstance(keys, str):
            keys = [keys]
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        for key in keys:
            params.pop(key, None)
        return self.replace(query=urlencode(params.multi_items()))

    def __eq__(self, other: Any) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self._url)

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        url = str(self.replace(password="********")) if self.password else str(self)
        return f"{self.__class__.__name__}({url!r})"


class URLPath(str):
    """A path returned by `url_path_for`, remembering its protocol and host."""

    protocol: str
    host: str

    def __new__(cls, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = "") -> URLPath:
        assert protocol in ("http", "websocket", "")
        path = path.replace("\\", "%5C")
        if path.startswith("//"):
            # A leading `//` would read as an authority.
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: str | URL) -> URL:
        """Join this path onto `base_url`, picking ws/wss or http/https to match it."""
        if isinstance(base_url, str):
            base_url = URL(base_url)
        if self.protocol == "http":
            scheme = "https" if base_url.is_secure else "http"
        elif self.protocol == "websocket":
            scheme = "wss" if base_url.is_secure else "ws"
        else:
            scheme = base_url.scheme
        netloc = self.host or base_url.netloc
        return URL(scheme=scheme, netloc=netloc, path=base_url.path.rstrip("/") + str(self))


class Secret:
    """A string that does not show itself in reprs and tracebacks."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


class CommaSeparatedStrings(Sequence[str]):
    """A list parsed from a comma-separated string (shell-style quotes respected)."""

    def __init__(self, value: str | Sequence[str]) -> None:
        if isinstance(value, str):
            lexer = shlex(value, posix=True)
            lexer.whitespace = ","
            lexer.whitespace_split = True
            self._items = [item.strip() for item in lexer]
        else:
            self._items = list(value)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int | slice) -> Any:
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({list(self)!r})"

    def __str__(self) -> str:
        return ", ".join(repr(item) for item in self)


class ImmutableMultiDict(Mapping[_K, _V]):
    """A read-only mapping that keeps every value of repeated keys, in order.

    `d[key]` is the last value; `d.getlist(key)` all of them.
    """

    _dict: dict[_K, _V]
    _list: list[tuple[_K, _V]]

    def __init__(
        self,
        *args: ImmutableMultiDict[_K, _V] | Mapping[_K, _V] | Iterable[tuple[_K, _V]],
        **kwargs: Any,
    ) -> None:
        assert len(args) < 2, "Too many arguments."
        value: Any = args[0] if args else []
        if kwargs:
            value = ImmutableMultiDict(value).multi_items() + ImmutableMultiDict(kwargs).multi_items()
        if not value:
            items: list[tuple[Any, Any]] = []
        elif hasattr(value, "multi_items"):
            items = list(value.multi_items())
        elif hasattr(value, "items"):
            items = list(value.items())
        else:
            items = list(value)
        self._dict = dict(items)
        self._list = items

    def getlist(self, key: Any) -> list[_V]:
        """Every value of `key`, in order."""
        return [v for k, v in self._list if k == key]

    def keys(self) -> KeysView[_K]:
        return self._dict.keys()

    def values(self) -> ValuesView[_V]:
        return self._dict.values()

    def items(self) -> ItemsView[_K, _V]:
        return self._dict.items()

    def multi_items(self) -> list[tuple[_K, _V]]:
        """Every (key, value) pair, in order, repeats included."""
        return list(self._list)

    def __getitem__(self, key: _K) -> _V:
        return self._dict[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[_K]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, self.__class__):
            return False
        return sorted(self._list, key=itemgetter(0)) == sorted(other._list, key=itemgetter(0))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.multi_items()!r})"


class MultiDict(ImmutableMultiDict[Any, Any]):
    """A mutable multidict."""

    def __setitem__(self, key: Any, value: Any) -> None:
        self.setlist(key, [value])

    def __delitem__(self, key: Any) -> None:
        self._list = [(k, v) for k, v in self._list if k != key]
        del self._dict[key]

    def pop(self, key: Any, default: Any = None) -> Any:
        """Remove every value of `key`; return the last one (or `default`)."""
        self._list = [(k, v) for k, v in self._list if k != key]
        return self._dict.pop(key, default)

    def popitem(self) -> tuple[Any, Any]:
        """Remove and return the most recently set key with its last value."""
        key, value = self._dict.popitem()
        self._list = [(k, v) for k, v in self._list if k != key]
        return key, value

    def poplist(self, key: Any) -> list[Any]:
        """Remove and return every value of `key`."""
        values = [v for k, v in self._list if k == key]
        self.pop(key)
        return values

    def clear(self) -> None:
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._dict[key] = default
            self._list.append((key, default))
        return self[key]

    def setlist(self, key: Any, values: list[Any]) -> None:
        """Replace every value of `key` with `values` (removing it if empty)."""
        if not values:
            self.pop(key, None)
            return
        self._list = [(k, v) for k, v in self._list if k != key] + [(key, v) for v in values]
        self._dict[key] = values[-1]

    def append(self, key: Any, value: Any) -> None:
        """Add a value for `key`, keeping the existing ones."""
        self._list.append((key, value))
        self._dict[key] = value

    def update(self, *args: MultiDict | Mapping[Any, Any] | list[tuple[Any, Any]], **kwargs: Any) -> None:
        """Replace the keys present in the argument, keeping all their new values."""
        incoming = MultiDict(*args, **kwargs)
        self._list = [(k, v) for k, v in self._list if k not in incoming.keys()] + incoming.multi_items()
        self._dict.update(incoming)


class QueryParams(ImmutableMultiDict[str, str]):
    """The query string as an immutable multidict of str."""

    def __init__(
        self,
        *args: ImmutableMultiDict[Any, Any] | Mapping[Any, Any] | list[tuple[Any, Any]] | str | bytes,
        **kwargs: Any,
    ) -> None:
        assert len(args) < 2, "Too many arguments."
        value = args[0] if args else []
        if isinstance(value, (str, bytes)) and not kwargs:
            try:
                # One native call builds both; Starlette's parse_qsl semantics exactly.
                self._list, self._dict = parse_query(value)
                return
            except UnicodeEncodeError:  # A str with lone surrogates: Python's parser copes.
                pass
        if isinstance(value, str):
            super().__init__(parse_qsl(value, keep_blank_values=True), **kwargs)
        elif isinstance(value, bytes):
            super().__init__(parse_qsl(value.decode("latin-1"), keep_blank_values=True), **kwargs)
        else:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._list = [(str(k), str(v)) for k, v in self._list]
        self._dict = {str(k): str(v) for k, v in self._dict.items()}

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self)!r})"


_MISSING: Any = object()


def _encode_pair(key: str, value: str) -> tuple[bytes, bytes]:
    return key.lower().encode("latin-1"), value.encode("latin-1")


class UploadFile:
    """An uploaded file of a multipart form, over a `SpooledTemporaryFile`.

    Reads, writes, seeks and closes go to a thread once the file has rolled over to disk.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.filename = filename
        self.file = file
        self.size = size
        self.headers = headers or Headers()
        # 0 means unlimited, as in SpooledTemporaryFile.
        self._max_mem_size = getattr(self.file, "_max_size", 0)

    @property
    def content_type(self) -> str | None:
        """The part's Content-Type header, if sent."""
        return self.headers.get("content-type", None)  # type: ignore[no-any-return]

    @property
    def _in_memory(self) -> bool:
        return not getattr(self.file, "_rolled", True)

    def _will_roll(self, size_to_add: int) -> bool:
        if not self._in_memory:
            return True
        future_size = self.file.tell() + size_to_add
        return bool(future_size > self._max_mem_size) if self._max_mem_size else False

    async def write(self, data: bytes) -> None:
        """Append `data` (the file position must be at the end)."""
        new_data_len = len(data)
        if self.size is not None:
            self.size += new_data_len
        if self._will_roll(new_data_len):
            await run_in_threadpool(self.file.write, data)
        else:
            self.file.write(data)

    async def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes (all by default)."""
        if self._in_memory:
            return self.file.read(size)
        return await run_in_threadpool(self.file.read, size)

    async def seek(self, offset: int) -> None:
        """Move to byte `offset`."""
        if self._in_memory:
            self.file.seek(offset)
        else:
            await run_in_threadpool(self.file.seek, offset)

    async def close(self) -> None:
        """Close the file (a spooled temporary file on disk is deleted)."""
        if self._in_memory:
            self.file.close()
        else:
            await run_in_threadpool(self.file.close)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"


class FormData(ImmutableMultiDict[str, "UploadFile | str"]):
    """An immutable multidict of a form's fields (str) and files (UploadFile)."""

    def __init__(
        self,
        *args: FormData | Mapping[str, str | UploadFile] | list[tuple[str, str | UploadFile]],
        **kwargs: str | UploadFile,
    ) -> None:
        super().__init__(*args, **kwargs)

    async def close(self) -> None:
        """Close every uploaded file."""
        for _, value in self.multi_items():
            if isinstance(value, UploadFile):
                await value.close()


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued, order-preserving view of raw header pairs.

    `Headers(scope=scope)` works on the scope's own list, so changes made through a
    `MutableHeaders(scope=...)` are seen by everyone holding the scope.
    """

    __slots__ = ("_list",)

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: MutableMapping[str, Any] | None = None,
    ) -> None:
        self._list: list[tuple[bytes, bytes]] = []
        if headers is not None:
            assert raw is None, 'Cannot set both "headers" and "raw".'
            assert scope is None, 'Cannot set both "headers" and "scope".'
            self._list = [_encode_pair(k, v) for k, v in headers.items()]
        elif raw is not None:
            assert scope is None, 'Cannot set both "raw" and "scope".'
            self._list = raw
        elif scope is not None:
            # ASGI allows any iterable here; a list makes it writable.
            self._list = scope["headers"] = list(scope["headers"])

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """A copy of the raw (name, value) byte pairs."""
        return list(self._list)

    def keys(self) -> list[str]:  # type: ignore[override]
        return [k.decode("latin-1") for k, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [v.decode("latin-1") for _, v in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._list]

    def getlist(self, key: str) -> list[str]:
        """Every value of header `key`, in order."""
        return headers_getlist(self._list, key)  # type: ignore[no-any-return]

    def mutablecopy(self) -> MutableHeaders:
        """A MutableHeaders over a copy of the pairs."""
        return MutableHeaders(raw=self._list[:])

    def __getitem__(self, key: str) -> str:
        value = headers_get(self._list, key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return headers_get(self._list, key, default)

    def __contains__(self, key: Any) -> bool:
        return headers_contains(self._list, key)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Headers):
            return False
        return sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{self.__class__.__name__}({as_dict!r})"
        return f"{self.__class__.__name__}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Headers that can be changed in place (writing through to the underlying list)."""

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        """Set `key` to `value`: the first occurrence is replaced, later ones removed."""
        name, encoded = _encode_pair(key, value)
        found = [i for i, (k, _) in enumerate(self._list) if k == name]
        for i in reversed(found[1:]):
            del self._list[i]
        if found:
            self._list[found[0]] = (name, encoded)
        else:
            self._list.append((name, encoded))

    def __delitem__(self, key: str) -> None:
        """Remove every occurrence of `key`."""
        name = key.lower().encode("latin-1")
        self._list[:] = [(k, v) for k, v in self._list if k != name]

    def __ior__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {other.__class__.__name__}")
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {other.__class__.__name__}")
        new = self.mutablecopy()
        new.update(other)
        return new

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The underlying list of raw pairs itself (not a copy)."""
        return self._list

    def setdefault(self, key: str, value: str) -> str:
        """Set `key` to `value` if absent; return the header's (first) value."""
        name, encoded = _encode_pair(key, value)
        for k, v in self._list:
            if k == name:
                return v.decode("latin-1")
        self._list.append((name, encoded))
        return value

    def update(self, other: Mapping[str, str]) -> None:  # type: ignore[override]
        """Set each header of `other` as `__setitem__` does."""
        for key, value in other.items():
            self[key] = value

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping existing ones of the same name."""
        self._list.append(_encode_pair(key, value))

    def add_vary_header(self, vary: str) -> None:
        """Add `vary` to the Vary header."""
        self["vary"] = ", ".join([*self.getlist("vary"), vary])


_object_setattr = object.__setattr__


class State:
    """Attribute-style storage, as used for `app.state` and `request.state`."""

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        if type(self) is State:
            _object_setattr(self, "_state", {} if state is None else state)
        else:  # a subclass's bases may define __setattr__ (what super() finds)
            super().__setattr__("_state", {} if state is None else state)

    def __setattr__(self, key: Any, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: Any) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(f"'{self.__class__.__name__}' object has no attribute '{key}'") from None

    def __delattr__(self, key: Any) -> None:
        del self._state[key]

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

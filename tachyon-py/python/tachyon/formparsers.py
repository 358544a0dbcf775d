"""Form body parsers: `multipart/form-data` and `application/x-www-form-urlencoded`.

The names, limits and error messages are Starlette's; the parsing is done in Rust by
tachyon-core's streaming parsers, fed chunk by chunk from the request stream, so memory stays
bounded and python-multipart is not needed. File parts go to `UploadFile`s over
`SpooledTemporaryFile(max_size=spool_max_size)`, as in Starlette.

One deliberate difference: a multipart body that ends before its closing boundary is rejected
(`MultiPartException`, so a 400 inside an app), where Starlette drops the unfinished file.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import AsyncGenerator
from enum import Enum
from tempfile import SpooledTemporaryFile
from typing import Any

from tachyon._tachyon import (
    FormParseError,
    MultipartParser,
    UrlencodedParser,
    charset_is_native_utf8,
    parse_options_header,
)
from tachyon.datastructures import FormData, Headers, UploadFile
from tachyon.exceptions import TachyonDeprecationWarning

if sys.version_info >= (3, 13):  # pragma: no cover
    from warnings import deprecated
else:  # pragma: no cover
    from typing_extensions import deprecated

__all__ = ["FormMessage", "FormParser", "MultiPartException", "MultiPartParser"]


@deprecated(
    "`FormMessage` is deprecated and will be removed in a future version.",
    category=TachyonDeprecationWarning,
    stacklevel=2,
)
class FormMessage(Enum):
    """The events of Starlette's old form parser callbacks (kept for compatibility)."""

    FIELD_START = 1
    FIELD_NAME = 2
    FIELD_DATA = 3
    FIELD_END = 4
    END = 5


class MultiPartException(Exception):
    """A form body that cannot be accepted; `Request.form()` makes it an HTTP 400."""

    def __init__(self, message: str) -> None:
        self.message = message


def _limit(value: int | float) -> int:
    """A limit as the native parser takes it: Starlette compares counts with `>`, so flooring
    a float gives the same answers; `inf` (or anything huge) is `sys.maxsize`."""
    if value != value or value >= sys.maxsize:  # NaN never trips `>` either.
        return sys.maxsize
    return max(int(value // 1), 0)


def _exception(
    exc: FormParseError, *, max_files: int | float, max_fields: int | float, max_part_size: int
) -> MultiPartException:
    """Starlette's message for a native parser error, worded with the caller's own limits."""
    kind, message = exc.args
    if kind == "too_many_files":
        message = f"Too many files. Maximum number of files is {max_files}."
    elif kind == "too_many_fields":
        message = f"Too many fields. Maximum number of fields is {max_fields}."
    elif kind == "part_too_large":
        message = f"Part exceeded maximum size of {int(max_part_size / 1024)}KB."
    elif kind == "field_too_large":
        message = f"Field exceeded maximum size of {int(max_part_size / 1024)}KB."
    elif kind == "invalid":
        message = "Invalid multipart data."
    # missing_boundary, missing_name: the core's text is Starlette's; truncated: ours.
    return MultiPartException(message)


class FormParser:
    """Parses an `application/x-www-form-urlencoded` body."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncGenerator[bytes, None],
        *,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        # Starlette's progress counters, kept up to date after parse() returns or raises.
        self._current_fields = 0
        self._field_name = bytearray()
        self._field_value = bytearray()

    async def parse(self) -> FormData:
        """Read the stream and return the fields."""
        parser = UrlencodedParser(_limit(self.max_fields), _limit(self.max_part_size))
        try:
            async for chunk in self.stream:
                parser.feed(chunk)
            items: list[tuple[str, Any]] = parser.finish()
        except FormParseError as exc:
            raise _exception(exc, max_files=0, max_fields=self.max_fields, max_part_size=self.max_part_size) from None
        finally:
            fields, name, value = parser.progress()
            self._current_fields = fields
            self._field_name = bytearray(name)
            self._field_value = bytearray(value)
        return FormData(items)


def _charset_to_redecode(content_type: str) -> str | None:
    """The codec to re-decode names and values with, when the native parser could not.

    Starlette resolves the `charset` parameter once with `codecs.lookup` (unknown: latin-1)
    and decodes each part's name, filename and value with it, falling back to latin-1 for
    bytes that do not decode. The native parser decodes UTF-8 itself and reads every other
    charset as latin-1, which keeps the raw bytes recoverable: `text.encode("latin-1")`.
    """
    params = dict(parse_options_header(content_type)[1])
    label = params.get("charset")
    if label is None:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None  # Starlette falls back to latin-1, which is what the parser read.
    if name == "iso8859-1" or charset_is_native_utf8(label):
        return None
    return name


def _redecode(text: str, codec: str) -> str:
    raw = text.encode("latin-1")
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        return text  # latin-1, Starlette's fallback


class MultiPartParser:
    """Parses a `multipart/form-data` body, streaming file parts to `UploadFile`s."""

    spool_max_size = 1024 * 1024  # 1MB
    """The maximum size of the spooled temporary file used to store file data."""
    max_part_size = 1024 * 1024  # 1MB
    """The maximum size of a non-file part."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncGenerator[bytes, None],
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self.items: list[tuple[str, str | UploadFile]] = []

    def _new_upload(self, filename: str, headers: list[tuple[bytes, bytes]]) -> UploadFile:
        file = SpooledTemporaryFile(max_size=self.spool_max_size)
        return UploadFile(file=file, size=0, filename=filename, headers=Headers(raw=headers))  # type: ignore[arg-type]

    @staticmethod
    def _redecode_value(value: str | UploadFile, codec: str) -> str | UploadFile:
        if isinstance(value, str):
            return _redecode(value, codec)
        if value.filename is not None:
            value.filename = _redecode(value.filename, codec)
        return value

    def _exception(self, exc: FormParseError) -> MultiPartException:
        return _exception(exc, max_files=self.max_files, max_fields=self.max_fields, max_part_size=self.max_part_size)

    async def parse(self) -> FormData:
        """Read the stream and return the fields and files."""
        try:
            parser = MultipartParser(
                self.headers.get("content-type", ""),
                _limit(self.max_files),
                _limit(self.max_fields),
                _limit(self.max_part_size),
                self._new_upload,
                # Our own UploadFile takes a memoryview of the chunk (no copy); an override's
                # upload gets bytes, as before.
                views=type(self)._new_upload is MultiPartParser._new_upload,
            )
        except FormParseError as exc:
            raise self._exception(exc) from None
        codec = _charset_to_redecode(self.headers.get("content-type", ""))
        try:
            async for chunk in self.stream:
                for upload, data in parser.feed(chunk):
                    await upload.write(data)
            self.items = parser.finish()
            if codec is not None:
                self.items = [
                    (_redecode(name, codec), self._redecode_value(value, codec)) for name, value in self.items
                ]
            for _, value in self.items:
                if isinstance(value, UploadFile):
                    await value.seek(0)
        except BaseException as exc:
            # Close every file (in memory or spooled to disk) if parsing or reading fails.
            for upload in parser.uploads:
                upload.file.close()
            if isinstance(exc, FormParseError):
                raise self._exception(exc) from None
            raise
        return FormData(self.items)

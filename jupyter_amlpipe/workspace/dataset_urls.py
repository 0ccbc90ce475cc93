"""Dataset files at public http(s) URLs (v1: ``Dataset.Tabular.from_delimited_files("https://.../x.csv")``).

A URL is one file; its name inside the dataset is the last segment of the
URL's path. It is fetched when the dataset is read, downloaded, mounted or
hashed for reuse (by content), through fsspec's http filesystem when aiohttp is
installed, else through the standard library.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed

__all__ = ["download", "fetch", "is_url", "name_of", "open_url"]

_TIMEOUT = 60


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def name_of(url: str) -> str:
    """The file's name inside the dataset: the last segment of the URL's path."""
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not name:
        raise DefinitionError(
            f"Dataset path {url!r} names no file (its path ends with '/'); give the URL of a file.", url=url
        )
    return name


def _http_fs() -> Any:
    try:
        import aiohttp  # noqa: F401  (fsspec's http filesystem needs it)
        import fsspec
    except ImportError:
        return None
    return fsspec.filesystem("http")


def fetch(url: str, what: str) -> bytes:
    """The content at ``url``.

    Raises:
        LookupFailed: the server answers with an error, or cannot be reached.
    """
    fs = _http_fs()
    try:
        if fs is not None:
            data: bytes = fs.cat_file(url)
            return data
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as answer:  # http(s) only: is_url
            return bytes(answer.read())
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code} {exc.reason}"
    except FileNotFoundError:
        reason = "HTTP 404 Not Found"
    except Exception as exc:  # aiohttp and socket errors differ by version; all mean "could not fetch"
        reason = f"{type(exc).__name__}: {exc}"
    raise LookupFailed(
        f"{what}: could not fetch {url} ({reason}). Check the URL in a browser, or download the file and "
        "upload it to a datastore (Dataset.File.upload_directory).",
        url=url,
    )


def open_url(url: str, what: str) -> io.BytesIO:
    """The content at ``url`` as a readable (and seekable) file object."""
    return io.BytesIO(fetch(url, what))


def download(url: str, dest: Path, what: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(fetch(url, what))

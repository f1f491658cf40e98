"""HTTP feeds: conditional GET, redirects with a limit, a size cap, a total deadline, politeness.

The fetch is asynchronous so that a total deadline can cancel *everything* about one feed (a
server trickling its headers one byte a second beats any read timeout, but not a cancel scope).
Content encodings are decoded here rather than by httpx, with a bounded decompressor: the size cap
applies to the decoded bytes, so a gzip bomb stops at the cap instead of filling memory.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime

import httpx

from .. import __version__
from ..exceptions import FetchError, Gone, NotFound, RetryLater
from ..models import FetchSettings
from . import Fetched
from .guard import AddressPolicy, GuardedTransport, RefusedAddress

USER_AGENT = f"KnowledgeBroker/{__version__} (+https://pypi.org/project/knowledge-broker/)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
ACCEPT_ENCODING = "gzip, deflate"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True)
class Validators:
    """What the last successful response said about itself, sent back as a conditional GET."""

    etag: str = ""
    last_modified: str = ""

    def headers(self) -> dict[str, str]:
        headers = {}
        if usable_validator(self.etag):  # also those stored before validators were checked
            headers["If-None-Match"] = self.etag
        if usable_validator(self.last_modified):
            headers["If-Modified-Since"] = self.last_modified
        return headers


def usable_validator(value: str) -> bool:
    """Whether an ``ETag``/``Last-Modified`` can be sent back as it came: visible ASCII and spaces.

    httpx sends header values as ASCII, and a server's non-ASCII bytes could have been meant in
    any encoding, so there is no telling which bytes to send back; such a validator is dropped
    (the cost is one full download per run, instead of a feed that fails on every run).
    """
    return bool(value) and len(value) <= 1024 and all(" " <= c <= "~" for c in value)


def _validator(response: httpx.Response, name: bytes) -> str:
    """A response's validator header as the bytes it was, or "" when it cannot be sent back."""
    for key, raw in response.headers.raw:
        if key.lower() == name:
            value = raw.decode("latin-1").strip()
            return value if usable_validator(value) else ""
    return ""


@dataclass
class Politeness:
    """At most ``per_host`` requests in flight to any one host, whatever the overall concurrency."""

    per_host: int
    _hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def host(self, url: str) -> asyncio.Semaphore:
        key = httpx.URL(url).host.lower()
        if key not in self._hosts:
            self._hosts[key] = asyncio.Semaphore(self.per_host)
        return self._hosts[key]


def make_client(settings: FetchSettings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.deadline,
    )
    limits = httpx.Limits(
        max_connections=settings.concurrency,
        max_keepalive_connections=settings.concurrency,
    )
    return httpx.AsyncClient(
        transport=GuardedTransport(AddressPolicy.allowing(settings.allow_private), limits),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        follow_redirects=False,
        trust_env=False,
    )


async def fetch_http(
    client: httpx.AsyncClient,
    name: str,
    url: str,
    validators: Validators,
    settings: FetchSettings,
    politeness: Politeness | None = None,
) -> Fetched:
    """GET ``url`` with everything about it bounded by ``settings.deadline`` seconds.

    The deadline starts when the first request does: time spent waiting for the host's
    politeness slot (other feeds of the same host being fetched) is not the feed's fault.
    """
    politeness = politeness or Politeness(settings.per_host)
    try:
        async with asyncio.timeout(None) as deadline:
            return await _follow(client, name, url, validators, settings, politeness, deadline)
    except RefusedAddress as e:
        raise FetchError(name, str(e)) from e
    except TimeoutError as e:
        raise FetchError(name, f"gave up after the {settings.deadline:g} s deadline") from e
    except httpx.TimeoutException as e:
        raise FetchError(name, f"timed out ({_timeout_kind(e)})") from e
    except httpx.HTTPError as e:
        raise FetchError(name, f"network error: {e or type(e).__name__}") from e
    except httpx.InvalidURL as e:  # not an HTTPError: a bad URL in feeds.yml or a redirect
        raise FetchError(name, f"invalid URL ({e})") from e
    except (httpx.StreamError, httpx.CookieConflict) as e:  # httpx's other, non-HTTPError kinds
        raise FetchError(name, f"HTTP client error: {type(e).__name__}: {e}") from e


def _timeout_kind(error: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "no connection",
        httpx.ReadTimeout: "the server stopped sending",
        httpx.WriteTimeout: "the server stopped reading",
        httpx.PoolTimeout: "waiting for a connection",
    }.get(type(error), type(error).__name__)


async def _follow(
    client: httpx.AsyncClient,
    name: str,
    url: str,
    validators: Validators,
    settings: FetchSettings,
    politeness: Politeness,
    deadline: asyncio.Timeout,
) -> Fetched:
    """Follow redirects ourselves: count them, catch loops, and remember if all were permanent."""
    headers = validators.headers()
    all_permanent = True
    current = url
    seen = {url}
    for _ in range(settings.max_redirects + 1):
        async with politeness.host(current):
            if deadline.when() is None:
                deadline.reschedule(asyncio.get_running_loop().time() + settings.deadline)
            try:
                fetched, location, permanent = await _get(client, name, current, headers, settings)
            except RefusedAddress as e:
                if current == url:
                    raise
                raise RefusedAddress(f"redirected to {current[:200]}: {e}") from e
        if fetched is not None:
            moved = current if all_permanent and current != url else ""
            return replace(fetched, moved_to=moved)
        if not location.startswith(("http://", "https://")):
            raise FetchError(name, f"redirected to a non-web URL: {location[:200]}")
        if location in seen:
            raise FetchError(name, f"redirect loop at {location}")
        seen.add(location)
        all_permanent = all_permanent and permanent
        current = location
    raise FetchError(name, f"too many redirects (more than {settings.max_redirects})")


async def _get(
    client: httpx.AsyncClient,
    name: str,
    url: str,
    headers: dict[str, str],
    settings: FetchSettings,
) -> tuple[Fetched | None, str, bool]:
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code in REDIRECTS and "location" in response.headers:
            location = str(response.url.join(response.headers["location"]))
            return None, location, response.status_code in PERMANENT_REDIRECTS
        if response.status_code == 304:
            await response.aread()  # no body, by definition: reading it keeps the connection
            return Fetched(url=url, not_modified=True), "", False
        _raise_for_status(name, response)
        data = await _read_capped(name, response, settings.max_bytes)
        fetched = Fetched(
            url=str(response.url),
            data=data,
            content_type=response.headers.get("content-type", ""),
            etag=_validator(response, b"etag"),
            last_modified=_validator(response, b"last-modified"),
        )
        return fetched, "", False


def _raise_for_status(name: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status == 410:
        raise Gone(name, "HTTP 410 Gone: the feed was removed; delete it from feeds.yml")
    if status == 404:
        raise NotFound(name, f"HTTP 404 {response.reason_phrase}".strip())
    if status in (429, 503):
        wait = retry_after(response.headers.get("retry-after"), time.time())
        said = f" (retry after {wait:.0f} s)" if wait is not None else ""
        raise RetryLater(name, f"HTTP {status} {response.reason_phrase}{said}".strip(), wait)
    raise FetchError(name, f"HTTP {status} {response.reason_phrase}".strip())


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait, from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


async def _read_capped(name: str, response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(name, f"response is {declared} bytes, over the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in _decoded(name, response, max_bytes):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(name, f"response is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def _decoded(name: str, response: httpx.Response, max_bytes: int) -> AsyncIterator[bytes]:
    """The body, decoded, never inflating more than ``max_bytes + 1`` bytes at a time."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        async for chunk in response.aiter_raw():
            yield chunk
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(name, f"unsupported content encoding '{encoding}'")
    inflater = _Inflater(encoding)
    try:
        async for chunk in response.aiter_raw():
            pending = chunk
            while pending:
                out = inflater.feed(pending, max_bytes + 1)
                yield out
                pending = inflater.unconsumed
                if not out and not pending:
                    break
    except zlib.error as e:
        raise FetchError(name, f"corrupt {encoding} body: {e}") from e


class _Inflater:
    """zlib with a bound on each output, for gzip and both flavours of "deflate"."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._decompressor = zlib.decompressobj(
            16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        )
        self._first = True
        self.unconsumed = b""

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._decompressor.eof:
            self.unconsumed = b""  # trailing garbage after the stream: ignore it like browsers
            return b""
        try:
            out = self._decompressor.decompress(data, limit)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise
            self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no header
            out = self._decompressor.decompress(data, limit)
        self._first = False
        self.unconsumed = self._decompressor.unconsumed_tail
        return out


__all__ = [
    "USER_AGENT",
    "Politeness",
    "Validators",
    "fetch_http",
    "make_client",
    "retry_after",
]

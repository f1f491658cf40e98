"""HTTP feeds: conditional GET, redirects with a limit, a size cap and a total deadline."""

from __future__ import annotations

import time

import httpx

from .. import __version__
from ..exceptions import FetchError
from ..models import FeedState, FetchSettings
from . import Fetched

USER_AGENT = f"KnowledgeBroker/{__version__} (+https://pypi.org/project/knowledge-broker/)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)


class RetryLater(FetchError):
    """The server asked us to come back later (429/503), maybe saying when."""

    def __init__(self, feed: str, reason: str, retry_after: float | None) -> None:
        super().__init__(feed, reason)
        self.retry_after = retry_after


class Gone(FetchError):
    """410 Gone: the feed is dead and is not fetched again."""


def make_client(settings: FetchSettings) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.deadline,
    )
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=8)
    return httpx.Client(
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        follow_redirects=False,
    )


def fetch_http(
    client: httpx.Client, name: str, url: str, state: FeedState | None, settings: FetchSettings
) -> Fetched:
    headers = {}
    if state is not None and state.url == url:
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
    deadline = time.monotonic() + settings.deadline
    all_permanent = True
    current = url
    seen = {url}
    for _ in range(settings.max_redirects + 1):
        try:
            fetched, location, permanent = _get(client, name, current, headers, deadline, settings)
        except httpx.TimeoutException as e:
            raise FetchError(name, f"timed out ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise FetchError(name, f"network error: {e}") from e
        if fetched is not None:
            return Fetched(
                url=fetched.url,
                data=fetched.data,
                content_type=fetched.content_type,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                not_modified=fetched.not_modified,
                moved_to=current if all_permanent and current != url else "",
            )
        if location in seen:
            raise FetchError(name, f"redirect loop at {location}")
        seen.add(location)
        all_permanent = all_permanent and permanent
        current = location
    raise FetchError(name, f"too many redirects (more than {settings.max_redirects})")


def _get(
    client: httpx.Client,
    name: str,
    url: str,
    headers: dict[str, str],
    deadline: float,
    settings: FetchSettings,
) -> tuple[Fetched | None, str, bool]:
    with client.stream("GET", url, headers=headers) as response:
        if response.is_redirect:
            location = str(response.url.join(response.headers.get("location", "")))
            return None, location, response.status_code in (301, 308)
        if response.status_code == 304:
            return Fetched(url=url, not_modified=True), "", False
        _raise_for_status(name, response)
        data = _read_capped(name, response, deadline, settings.max_bytes)
        fetched = Fetched(
            url=str(response.url),
            data=data,
            content_type=response.headers.get("content-type", ""),
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
        )
        return fetched, "", False


def _raise_for_status(name: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 410:
        raise Gone(name, "410 Gone: the feed was removed; delete it from feeds.yml")
    if status in (429, 503):
        raise RetryLater(name, f"HTTP {status}", _retry_after(response.headers.get("retry-after")))
    raise FetchError(name, f"HTTP {status} {response.reason_phrase}".strip())


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, moment.timestamp() - time.time())


def _read_capped(name: str, response: httpx.Response, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(name, f"response is {declared} bytes, over the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(name, f"response is over the {max_bytes}-byte limit")
        if time.monotonic() > deadline:
            raise FetchError(name, "took longer than the deadline to download")
        chunks.append(chunk)
    return b"".join(chunks)

"""Which addresses a feed may be fetched from: public ones, and the private hosts a team names.

A feed URL (or a redirect, or a page's ``rel="alternate"`` link) is chosen by whoever publishes
it. Without a check, ``http://169.254.169.254/`` reads a cloud machine's credentials and
``http://127.0.0.1:8080/`` probes the build machine; the status line or the body then shows up
in ``kb fetch``, ``kb feeds`` and on the site. So every connection is checked where it is made:
:class:`GuardedBackend` is the network layer under httpx. It resolves the host once, refuses the
connection if any of its addresses is not public (unless ``fetch.allow_private`` names the host
or the address), and connects to the very address it checked, so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot get round it. TLS still verifies the
certificate against the host name, which httpcore passes to the TLS layer separately.

Why not a library: the SSRF guards for httpx on PyPI are months old, one maintainer each, and
none takes a named-host allowlist; this is one small class on httpcore's documented backend
interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import typing
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from .networks import Address, Network, parse_network


class RefusedAddress(Exception):
    """A connection to a non-public address that no ``allow_private`` entry allows."""


def kind_of(address: Address) -> str:
    """Why an address is not public, in words ("" for a public one)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address)
        if embedded is not None:  # an IPv4 address in IPv6 clothes is judged as itself
            return kind_of(embedded)
    for test, words in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_unspecified", "an unspecified address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return words
    return "" if address.is_global else "a non-public address"


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 gateway would translate ``address`` to (RFC 6052)."""
    if address not in _NAT64:
        return None
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses always; others only for a named host or an allowed address/network."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> AddressPolicy:
        """From ``fetch.allow_private``: host names, IP addresses or networks (``10.0.0.0/8``)."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in entries:
            network = parse_network(entry)
            if network is None:
                hosts.add(entry.strip().lower().rstrip("."))
            else:
                networks.append(network)
        return cls(frozenset(hosts), tuple(networks))

    def refusal(self, host: str, address: Address) -> str:
        """Why connecting to ``address`` (which ``host`` resolved to) is refused, or ""."""
        kind = kind_of(address)
        if not kind or host.lower().rstrip(".") in self.hosts:
            return ""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.networks):
            return ""
        literal = parse_network(host)
        shown = host.strip("[]")
        if literal is None or literal.num_addresses != 1:
            shown = f"{host} (it resolves to {address})"
        return (
            f"refused to connect to {shown}: {kind}; if this is an intranet feed, add"
            f" '{host.strip('[]')}' to fetch: allow_private in kb.yml"
        )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default network backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        for address in addresses:  # all of them: a round-robin answer may hide a private one
            refusal = self.policy.refusal(host, address)
            if refusal:
                raise RefusedAddress(refusal)
        last: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as e:  # try the next address, as a browser does
                last = e
            else:
                return _QuickAck.wrap(stream)
        raise last or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("refused to connect to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Socket(typing.Protocol):
    """A socket, or asyncio's ``TransportSocket`` (what an asyncio connection lends out)."""

    def setsockopt(self, level: int, option: int, value: int, /) -> None: ...


class _QuickAck(httpcore.AsyncNetworkStream):
    """A connection that acknowledges what it receives at once (Linux's ``TCP_QUICKACK``).

    A server that writes a response's headers and its body separately, without
    ``TCP_NODELAY`` (Python's ``http.server``, among others), has its body held back by Nagle's
    algorithm until the headers are acknowledged; on a kept-alive connection the kernel delays
    that acknowledgement by up to 40 ms. With many feeds on one host, fetched ``per_host`` at a
    time, that stall was most of a run's time (44 ms a request against 4 ms on loopback). The
    flag does not stick (the kernel goes back to delaying), so it is set around every read: one
    system call, and an ACK sent a little sooner, which no server minds.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, sock: _Socket) -> None:
        self._inner = inner
        self._socket = sock

    @classmethod
    def wrap(cls, stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        sock = stream.get_extra_info("socket")
        if not hasattr(socket, "TCP_QUICKACK") or sock is None:
            return stream  # not Linux (or no socket): nothing to set
        return cls(stream, sock)

    def _quick_ack(self) -> None:
        with contextlib.suppress(OSError):  # a closed socket: the read reports it
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._quick_ack()
        data = await self._inner.read(max_bytes, timeout)
        self._quick_ack()  # acknowledge what just came now, not 40 ms from now
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _QuickAck.wrap(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


async def _resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    literal = parse_network(host)
    if literal is not None and literal.num_addresses == 1:
        return [literal.network_address]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as e:
        raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
    found: dict[Address, None] = {}
    for _, _, _, _, sockaddr in infos:
        found.setdefault(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), None)
    return list(found)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over :class:`GuardedBackend`.

    httpx has no public parameter for the network backend, so the transport is given its own
    pool (no proxy, HTTP/1.1) over the guarded backend. ``AsyncHTTPTransport.__init__`` is not
    called: all it does is build a pool (and load the CA certificates for it, ~40 ms of CPU)
    that would be thrown away; ``_pool`` is the only state its methods use.
    """

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        self._pool = _LazyTLSPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


class _LazyTLSPool(httpcore.AsyncConnectionPool):
    """A pool that loads the CA certificates when its first HTTPS connection is made, once.

    Loading them is most of the cost of starting a fetch that only needs plain HTTP or local
    files (a run of conditional requests that all answer 304 is a few hundred milliseconds).
    The context is then shared by every connection, as httpx's own would be.
    """

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        if origin.scheme == b"https" and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=False)
        return super().create_connection(origin)


__all__ = [
    "AddressPolicy",
    "GuardedBackend",
    "GuardedTransport",
    "RefusedAddress",
    "kind_of",
    "parse_network",
]

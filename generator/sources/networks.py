"""IP addresses and networks as ``fetch.allow_private`` names them (no network code here, so
reading kb.yml does not import the HTTP stack)."""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(entry: str) -> Network | None:
    """An IP address or network, or None when ``entry`` is a host name."""
    try:
        return ipaddress.ip_network(entry.strip().strip("[]"), strict=False)
    except ValueError:
        return None

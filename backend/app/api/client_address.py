"""The client's address, for sign-in throttling: the socket's peer, unless that peer is a trusted reverse proxy.

Behind proxies listed in `JOBCOST_TRUSTED_PROXIES` (addresses or CIDR networks), the client is the rightmost
address of `X-Forwarded-For` that is not itself a trusted proxy: each proxy appends the address it got the
request from, so entries left of that are whatever the client chose to send and are never believed. Without
trusted proxies the header is ignored, so a client cannot pick the address it is throttled under.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ADDRESS_LENGTH = 100  # an entry that is not an address is kept as text, cut to this


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The address to throttle `request` under (see the module docstring); `"unknown"` without a peer."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _trusted(hop, networks):
            return hop[:MAX_ADDRESS_LENGTH]
    return peer

"""Who may read `/metrics`: `JOBCOST_METRICS_ALLOW` (client networks) and `JOBCOST_METRICS_TOKEN` (a bearer token).

Both apply when both are set. Networks default to loopback and private addresses in production (a Prometheus
inside the cluster or on the host; the public internet is refused even without a token) and to any address in
development and test. A client without an address (a Unix socket) counts as loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from app.core.config import Settings
from app.core.errors import ForbiddenError, NotAuthenticatedError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK_AND_PRIVATE = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
ANYWHERE = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    """The rule of `settings`: `networks` a client's address must be in, `token` it must present (None: none)."""

    networks: tuple[IPNetwork, ...]
    token: str | None

    @classmethod
    def of(cls, settings: Settings) -> MetricsAccess:
        allow = settings.metrics_allow
        if allow is None:
            allow = list(LOOPBACK_AND_PRIVATE if settings.is_production else ANYWHERE)
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        return cls(networks=tuple(ipaddress.ip_network(n, strict=False) for n in allow), token=token or None)

    def check(self, client_host: str | None, authorization: str | None) -> None:
        """Return when the caller may read the metrics; raise ForbiddenError (its address is not allowed) or
        NotAuthenticatedError (the token is required and missing or wrong)."""
        if not self._address_allowed(client_host):
            raise ForbiddenError("Metrics are not served to this client address (JOBCOST_METRICS_ALLOW)")
        if self.token is None:
            return
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
            raise NotAuthenticatedError("Metrics need the bearer token set in JOBCOST_METRICS_TOKEN")

    def _address_allowed(self, host: str | None) -> bool:
        if host is None:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address("127.0.0.1")
        else:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:  # a name (a test client's "testclient") is no address of any allowed network
                return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.networks)

"""The client's IP address, believing ``X-Forwarded-For`` only from configured proxies.

Anyone can send ``X-Forwarded-For``; only a proxy we run can be trusted to have appended the
address it saw. So the header counts only when the direct peer is in ``EDGEWATCH_TRUSTED_PROXIES``,
and then the client is the right-most address that is not itself a trusted proxy: entries to the
left of it were written by the client and may be forged. The rate limiter keys on this address and
stores it in the request state (``client_ip``) for other code (sessions, audit) to reuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

Network = IPv4Network | IPv6Network
#: The address when the server does not know its peer (a test client, a Unix socket).
UNKNOWN = "unknown"


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def _forwarded_for(scope: Scope) -> list[str]:
    """Every ``X-Forwarded-For`` entry, in order, across repeated headers."""
    entries: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            entries.extend(part for part in value.decode("latin-1").split(",") if part.strip())
    return entries


def client_ip(scope: Scope, trusted_proxies: Sequence[Network]) -> str:
    """The address requests from this client are attributed to (canonical text form)."""
    client = scope.get("client")
    peer = _parse(client[0]) if client else None
    if peer is None:
        return client[0] if client else UNKNOWN
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return str(peer)
    nearest = peer
    for entry in reversed(_forwarded_for(scope)):
        address = _parse(entry)
        if address is None:
            # A trusted proxy passed on garbage: the last address we could read is the client.
            break
        nearest = address
        if not _trusted(address, trusted_proxies):
            break
    return str(nearest)

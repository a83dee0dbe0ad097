"""Where a webhook may be sent: the guard against server-side request forgery.

A target must be http or https, and every address its host resolves to must be public: no
loopback, private, link-local (cloud metadata lives at 169.254.169.254), multicast, reserved or
unspecified address, in IPv4 or IPv6, including IPv4 addresses wrapped in IPv6 (mapped, 6to4,
Teredo, NAT64). The check runs when a subscription is made and again at every delivery, since DNS
can change; the delivery then connects to the very address that was checked, so a name cannot
resolve to something else between the check and the connection.

WEBHOOK_ALLOW_PRIVATE_TARGETS turns the address check off (for tests and closed networks); the
scheme and form checks stay.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from kbsite.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class TargetRefused(InvalidInput):
    """The URL is malformed or points somewhere webhooks may not go."""

    code = "target_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="target_url")


class TargetUnresolvable(TargetRefused):
    """The host name does not resolve (now): at delivery time this is worth a retry."""

    code = "target_unresolvable"


@dataclass(frozen=True)
class Target:
    """A checked target: connect to `address`, and call the host `host` (Host header, TLS)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def target_parse(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of `url`, or TargetRefused saying what is wrong with it."""
    url = url.strip()
    if not url:
        raise TargetRefused("Enter the URL to send events to.")
    if len(url) > 500:
        raise TargetRefused("The URL is longer than 500 characters.")
    if any(ord(character) < 33 for character in url):
        raise TargetRefused("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("The URL is malformed: check the host and the port.") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise TargetRefused("Webhooks are sent over http or https only: start the URL with one.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            "Put no user name or password in the URL: every delivery is signed with the "
            "webhook's secret instead."
        )
    host = parts.hostname or ""
    if not host:
        raise TargetRefused("The URL has no host name.")
    if parts.fragment:
        raise TargetRefused("The URL must not have a #fragment.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses carried inside an IPv6 one, which the network may route to."""
    carried: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        carried.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        carried.append(address.sixtofour)
    if address.teredo is not None:
        carried.extend(address.teredo)
    if address in _NAT64 or address in _NAT64_LOCAL:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # IPv4-compatible (::a.b.c.d, deprecated) addresses, except :: and ::1 themselves.
    if int(address) >> 32 == 0 and int(address) > 1:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return carried


def address_is_public(address: IPAddress) -> bool:
    """True when nothing about `address` (or an IPv4 address inside it) is internal."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(address))
    for candidate in candidates:
        if (
            candidate.is_loopback
            or candidate.is_private
            or candidate.is_link_local
            or candidate.is_multicast
            or candidate.is_reserved
            or candidate.is_unspecified
            or not candidate.is_global
        ):
            return False
    return True


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise TargetUnresolvable(
            f"The host {host!r} could not be resolved: check its name."
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone index
        try:
            address = ipaddress.ip_address(raw)
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolvable(f"The host {host!r} has no usable address.")
    return addresses


def target_check(url: str, *, allow_private: bool | None = None) -> Target:
    """Check `url` and resolve it; TargetRefused when it may not be called.

    Every address the host resolves to must be public, so that a name with one public and one
    internal address is refused rather than sometimes reaching the internal one.
    """
    scheme, host, port = target_parse(url)
    allowed = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS if allow_private is None else allow_private
    addresses = _resolve(host, port)
    if not allowed:
        for address in addresses:
            if not address_is_public(address):
                raise TargetRefused(
                    f"The host {host!r} resolves to {address}, an internal or reserved address: "
                    "webhooks may only be sent to public addresses."
                )
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, address=str(addresses[0]))

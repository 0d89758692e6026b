"""Where a webhook may point: http(s) URLs whose host resolves only to public addresses.

Loopback, private, link-local, shared (CGNAT), multicast, reserved and unspecified addresses
are refused, for IPv4 and IPv6, including IPv4 addresses carried inside IPv6 ones (IPv4-mapped,
6to4, Teredo, NAT64), unless the deployment allows private destinations. The check runs when a
webhook is created and again before every attempt, and the attempt connects to the very address
that was checked (DNS could answer differently a second time).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from ingest.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
MAX_URL_CHARS = 2048
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class InvalidWebhookUrl(InvalidInput):
    code = "invalid_webhook_url"


class DestinationRefused(InvalidInput):
    """The URL's host is (or resolves to) an address webhooks may not reach."""

    code = "webhook_destination_refused"


class DestinationUnresolvable(InvalidInput):
    code = "webhook_destination_unresolvable"


@dataclass(frozen=True)
class Destination:
    """A checked URL and the address an attempt connects to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host (Host header and TLS name
        stay the host's)."""
        parts = urlsplit(self.url)
        ip = ipaddress.ip_address(self.address)
        netloc = f"[{ip}]" if ip.version == 6 else str(ip)
        return parts._replace(netloc=f"{netloc}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (IPv4-mapped, 6to4, Teredo, NAT64)."""
    if ip.version == 4:
        return []
    assert isinstance(ip, ipaddress.IPv6Address)
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found += list(ip.teredo)
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is a public unicast address (and so is every IPv4 address inside it)."""
    plain = ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
    return plain and all(is_public(inner) for inner in embedded_ipv4(ip))


def parse_url(url: str) -> SplitResult:
    if len(url) > MAX_URL_CHARS:
        raise InvalidWebhookUrl(f"The webhook URL is longer than {MAX_URL_CHARS} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl("The webhook URL is not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("The webhook URL must be an absolute http(s) URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("The webhook URL may not carry credentials.")
    if port == 0 or any(ch.isspace() for ch in url):
        raise InvalidWebhookUrl("The webhook URL is not a valid URL.")
    return parts


def check_destination(url: str, allow_private: bool,
                      resolve: Resolver = system_resolver) -> Destination:
    """The URL's destination if every address its host resolves to may be reached."""
    parts = parse_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        raw = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise DestinationUnresolvable(f"The host {host!r} of the webhook URL does not "
                                      "resolve.") from exc
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in raw]
    if not addresses:
        raise DestinationUnresolvable(f"The host {host!r} of the webhook URL does not resolve.")
    refused = [a for a in addresses if not is_public(a)]
    if refused and not allow_private:
        raise DestinationRefused(
            f"The webhook URL's host {host!r} is a loopback, private or otherwise non-public "
            "address; webhooks only reach public destinations (PODIUM_WEBHOOK_ALLOW_PRIVATE).")
    return Destination(url=url, scheme=parts.scheme, host=host, port=port,
                       address=str(addresses[0]))

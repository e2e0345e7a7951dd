"""Which URLs dlnuf may fetch a document from, checked at every redirect hop.

Document URLs come from upstream payloads (pre-signed storage links, association
and INPI hosts...), so they are untrusted: the hosts vary, so there is no fixed
allow-list, but by default (``document_urls="public-https"``) only ``https`` URLs
whose host resolves to public addresses are fetched: never loopback, link-local
(``169.254.x.x``, cloud metadata), private or otherwise reserved ranges.

``document_urls`` is one of ``public-https`` (default), ``https`` (any address,
e.g. behind a corporate network) or ``any`` (no check at all), optionally followed
by comma-separated hosts always allowed, with http or https and any address
(``"public-https,files.intranet.example"``). A host of a configured source base
URL that is itself local (a fake server on loopback) is allowed too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from .errors import ConfigurationError, RefusedUrl

__all__ = ["MODES", "UrlPolicy", "is_local_host"]

MODES = ("public-https", "https", "any")

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _literal(host: str) -> _Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _public(address: _Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def is_local_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a literal loopback/private/link-local address
    (no DNS: used to recognise a local test server in a configured base URL)."""
    name = host.lower().rstrip(".")
    if name in {"localhost", "localhost.localdomain"} or name.endswith(".localhost"):
        return True
    address = _literal(host)
    return address is not None and not _public(address)


@dataclass(frozen=True)
class UrlPolicy:
    """A parsed ``document_urls`` setting; :meth:`check` refuses a URL outside it."""

    mode: str = "public-https"
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str, local_hosts: Iterable[str] = ()) -> UrlPolicy:
        """The policy ``value`` names, allowing ``local_hosts`` (local base URLs' hosts)."""
        mode, *extra = [part.strip() for part in value.split(",")]
        mode = mode.lower() or "public-https"
        if mode not in MODES:
            raise ConfigurationError(
                f"document_urls must start with one of {', '.join(MODES)}, not {mode[:40]!r} "
                "(then optional ',host' entries always allowed)"
            )
        hosts = {h.lower() for h in extra if h} | {h.lower() for h in local_hosts}
        return cls(mode, frozenset(hosts))

    def check(self, url: httpx.URL) -> None:
        """Raise :class:`RefusedUrl` if ``url`` may not be fetched (resolves its host)."""
        if self.mode == "any" or url.host.lower() in self.hosts:
            return
        where = _shown(url)
        if url.scheme != "https":
            raise self._refused(where, f"it is {url.scheme}, not https")
        if self.mode == "https":
            return
        for address in _addresses(url):
            if not _public(address):
                raise self._refused(where, f"its host resolves to the non-public address {address}")

    @staticmethod
    def _refused(where: str, why: str) -> RefusedUrl:
        return RefusedUrl(
            f"documents: refused to fetch {where}: {why}. Document URLs come from upstream "
            "answers; widen the policy with document_urls= ('https', 'any', or "
            "'public-https,<host>') if this host is trusted",
            source="documents",
        )


def _addresses(url: httpx.URL) -> list[_Address]:
    """What ``url``'s host resolves to. Names reserved by RFC 6761 are not looked up:
    ``*.invalid`` never resolves (the offline sandbox serves one in-process), and
    ``localhost`` / ``*.localhost`` are loopback."""
    host = url.host.lower().rstrip(".")
    literal = _literal(host)
    if literal is not None:
        return [literal]
    if host == "invalid" or host.endswith(".invalid"):
        return []
    if host == "localhost" or host.endswith(".localhost"):
        return [ipaddress.IPv4Address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(url.host, url.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []  # unresolvable: the connection will fail, nothing can be reached
    found: list[_Address] = []
    for info in infos:
        address = _literal(str(info[4][0]).split("%")[0])
        if address is not None:
            found.append(address)
    return found


def _shown(url: httpx.URL) -> str:
    """``url`` without user info, query or fragment (they may carry a capability)."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"

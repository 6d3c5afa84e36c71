"""Camera and video sources: which URLs camera_ingest may open, and how their secrets are hidden.

A source is a URL that FFmpeg opens on the server, which makes it a way into the server: a path
or `file:` reads local files (whose frames are then stored and served back as images), `concat:`,
`subfile:` and FFmpeg's other meta-protocols reach any protocol, and `http://127.0.0.1:...` or
`http://169.254.169.254/` make FFmpeg call internal services or the cloud's metadata endpoint.
So a source must

- be a URL with a scheme the operator allows (`rtsp`, `rtsps`; `http`, `https` when enabled);
  paths and every other FFmpeg protocol are refused whatever the setting says;
- name a host whose every address (after DNS resolution) is allowed: loopback, link-local,
  unspecified, multicast, broadcast and reserved addresses are refused unless an allowed network
  (a setting) contains them, and cloud metadata addresses unless one names exactly that address.

camera_ingest checks a source when a camera is created or its source changed (400 naming
`source`) and again right before every connection (a name may resolve elsewhere by then), and
tells FFmpeg which protocols it may use (`protocol_whitelist`), so that a redirect or playlist
cannot switch to `file:` or another protocol. What FFmpeg does within the allowed protocols is
beyond these checks (an RTSP or HTTP redirect to another host, a DNS answer that changes in the
milliseconds between the check and the connection): docs/cameras.md says how to close that with
an egress network policy.

Credentials in a source (`rtsp://user:password@host/...`, or a `password=` query parameter) are
secrets: `redact_url` hides them in a URL, `redact` in any text (an FFmpeg error quoting the URL),
whatever characters they hold.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The schemes a source may ever have, with their default ports; the setting picks among them.
NETWORK_SCHEMES = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
DEFAULT_SCHEMES = "rtsp,rtsps"
# What FFmpeg may open for each scheme: RTSP's own connections (TCP, TLS for rtsps, RTP over UDP
# should a camera insist) and HTTP(S) for HTTP sources. Not file, pipe, concat, subfile, data, ...
_PROTOCOLS = {
    "rtsp": "rtsp,rtsps,rtp,udp,tcp,tls",
    "rtsps": "rtsp,rtsps,rtp,udp,tcp,tls",
    "http": "http,https,tcp,tls",
    "https": "http,https,tcp,tls",
}

# Cloud metadata endpoints (AWS, GCP, Azure, OpenStack, Oracle; AWS over IPv6; Alibaba): allowed
# only by an allowed network that is exactly that address, never by a wider one.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # "this host on this network": reaches the host itself
_HOST = re.compile(r"^[A-Za-z0-9._-]+$")  # a DNS name or an IPv4 address (non-ASCII: FFmpeg and Python differ)
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
# Query parameters that carry credentials in some cameras' URLs (`...?user=admin&password=...`).
_SECRET_PARAMS = re.compile(r"(?i)^(pass|password|passwd|pwd|secret|token|key|auth|authorization)$")
# A URL's user information in any text: up to the last '@' before a '/' or white space.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s]*@")
MASK = "***"
# The source of a camera whose stored credentials cannot be decrypted (FACEGATE_SECRET_KEY lost
# or changed): refused at every connection with that reason.
UNREADABLE = "facegate-unreadable-source:"


class SourceRefused(ValueError):
    """A source camera_ingest must not open; the message says why (never the credentials)."""


@dataclass(frozen=True)
class SourcePolicy:
    """What an operator allows: the schemes, and the networks allowed in spite of their kind."""

    schemes: frozenset[str]
    allowed: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, schemes: str, allow_networks: str) -> SourcePolicy:
        """From the settings' comma-separated lists; ValueError names a bad entry."""
        wanted = frozenset(s.strip().lower() for s in schemes.split(",") if s.strip())
        unknown = sorted(wanted - NETWORK_SCHEMES.keys())
        if unknown:
            allowed = ", ".join(NETWORK_SCHEMES)
            raise ValueError(f"unsupported source scheme(s) {', '.join(unknown)}: choose among {allowed}")
        networks = []
        for entry in (e.strip() for e in allow_networks.split(",")):
            if entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError as exc:
                    raise ValueError(f"not a network (CIDR) in the allowed networks: {entry!r}") from exc
        return cls(wanted, tuple(networks))

    def refusal(self, address: Address) -> str | None:
        """Why a source may not reach `address` ("a loopback address", ...); None when it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if address in METADATA:
            exact = any(n.num_addresses == 1 and address in n for n in self.allowed)
            return None if exact else "a cloud metadata address"
        kind = _special_kind(address)
        if kind is None or any(address in n for n in self.allowed):
            return None
        return f"{kind} (FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS can allow it)"


def _special_kind(address: Address) -> str | None:
    """What makes an address internal to the host or not a camera's: None for an ordinary one
    (public or private: cameras live on private networks)."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or address == ipaddress.IPv4Address("255.255.255.255"):
        return "a reserved address"
    return None


@dataclass(frozen=True)
class SourceUrl:
    """A source split the way FFmpeg splits it (`av_url_split`)."""

    scheme: str
    userinfo: str  # before the last '@' of the authority; '' when none
    host: str  # without brackets
    port: int
    query: str


def parse(source: str, policy: SourcePolicy) -> SourceUrl:
    """Split `source` and check its form and scheme (no DNS); SourceRefused says what is wrong."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in source):
        # A space or line break would end FFmpeg's RTSP request line early (header injection).
        raise SourceRefused("a source must not contain spaces or control characters (percent-encode them)")
    scheme, sep, rest = source.partition("://")
    if not sep or not _SCHEME.match(scheme):
        raise SourceRefused(
            f"a source must be a {_schemes_text(policy)} URL (not a server-side path or an FFmpeg protocol)"
        )
    scheme = scheme.lower()
    if scheme not in policy.schemes:
        raise SourceRefused(f"the scheme {scheme!r} is not allowed for sources (allowed: {_schemes_text(policy)})")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in tail.split("?", 1)[0].split("#", 1)[0]:
        # FFmpeg would take the host from before that '@': a password with a raw '/' or '@'.
        raise SourceRefused("an '@' after the host: percent-encode '@' and '/' in user names and passwords")
    userinfo, _, hostport = authority.rpartition("@")
    host, port = _host_port(hostport, NETWORK_SCHEMES[scheme])
    query = tail.partition("?")[2].partition("#")[0]
    return SourceUrl(scheme, userinfo, host, port, query)


def _host_port(hostport: str, default_port: int) -> tuple[str, int]:
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket or not _IPV6.match(host) or (after and not after.startswith(":")):
            raise SourceRefused("a source's IPv6 host must be written [address] (no zone)")
        port_text = after[1:]
    else:
        host, _, port_text = hostport.partition(":")
        if not _HOST.match(host):
            raise SourceRefused("a source needs a host name or address (letters, digits, '.', '-', '_')")
    if not port_text:
        return host, default_port
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SourceRefused("a source's port must be a number from 1 to 65535")
    return host, int(port_text)


def _schemes_text(policy: SourcePolicy) -> str:
    return ", ".join(s for s in NETWORK_SCHEMES if s in policy.schemes) or "(none allowed)"


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to now (what FFmpeg will try); socket.gaierror when none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_addresses(url: SourceUrl, addresses: Iterable[Address], policy: SourcePolicy) -> None:
    """Every address must be allowed: FFmpeg tries them in turn, so one refused address is enough
    to reach what the policy forbids (e.g. `localhost` is 127.0.0.1 and ::1)."""
    found = False
    for address in addresses:
        found = True
        if (why := policy.refusal(address)) is not None:
            named = url.host != str(address)
            raise SourceRefused(f"{url.host} resolves to {address}, {why}" if named else f"{address} is {why}")
    if not found:
        raise SourceRefused(f"{url.host} resolves to no address")


def check_source(source: str, policy: SourcePolicy) -> SourceUrl:
    """Check a source right before opening it, resolving its host now (blocking: run it in the
    stream's own thread). SourceRefused when refused; socket.gaierror when the host does not
    resolve (then FFmpeg could not connect either: the camera counts as offline)."""
    if source == UNREADABLE:
        raise SourceRefused(
            "its stored credentials cannot be decrypted: FACEGATE_SECRET_KEY is not the key they were stored with"
        )
    url = parse(source, policy)
    check_addresses(url, resolve(url.host, url.port), policy)
    return url


# How long a create or update waits for a source's host to resolve. A host that does not resolve
# in time (or at all) is accepted: the check before every connection refuses it then.
RESOLVE_TIMEOUT_S = 3.0


async def check_source_now(source: str, policy: SourcePolicy, timeout_s: float = RESOLVE_TIMEOUT_S) -> None:
    """`check_source` when a source is saved (a camera's or a video record's): its host resolved
    now, without blocking the loop, so that a name of a loopback or metadata address is refused
    at once. SourceRefused when refused; a host that does not resolve within `timeout_s` passes."""
    url = parse(source, policy)
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(url.host, url.port, type=socket.SOCK_STREAM), timeout_s)
    except (OSError, TimeoutError):
        return
    check_addresses(url, (ipaddress.ip_address(info[4][0]) for info in infos), policy)


def protocol_whitelist(source: str) -> str | None:
    """FFmpeg's `protocol_whitelist` for a network source; None for anything else (a local file
    given to the decoder directly, as the benchmarks do: the service never opens one)."""
    scheme = source.partition("://")[0].lower()
    return _PROTOCOLS.get(scheme) if "://" in source else None


# --- secrets -------------------------------------------------------------------------------


def secrets_of(source: str) -> list[str]:
    """The secret strings of a source in every form a message might quote them: the user
    information as written and decoded, the password as written, decoded and re-encoded, and
    secret query parameters (longest first, so that a longer one is replaced before its part)."""
    _, sep, rest = source.partition("://")
    if not sep:
        return []
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo = rest[:end].rpartition("@")[0]
    found: set[str] = set()
    if userinfo:
        found |= {userinfo, unquote(userinfo)}
        password = userinfo.partition(":")[2]
        # A short password alone is not replaced in free text (it would garble unrelated words);
        # it is still hidden wherever it appears with its user name or in the URL.
        if len(password) >= 3:
            found |= {password, unquote(password), quote(unquote(password), safe="")}
    query = rest[end:].partition("?")[2].partition("#")[0]
    for raw in query.split("&"):
        name, _, value = raw.partition("=")
        if value and _SECRET_PARAMS.match(unquote(name)) and len(value) >= 3:
            found |= {value, unquote(value), quote(unquote(value), safe="")}
    return sorted((s for s in found if s), key=len, reverse=True)


def redact_url(source: str) -> str:
    """`source` with its user information as `***` and its secret query parameters' values as
    `***` (`rtsp://***@host/path?password=***`); a source without secrets is returned as is."""
    scheme, sep, rest = source.partition("://")
    if not sep:
        return source
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        parts = []
        for raw in query.split("&"):
            name, eq, value = raw.partition("=")
            hidden = value and _SECRET_PARAMS.match(unquote(name))
            parts.append(f"{name}{eq}{MASK}" if hidden else raw)
        tail = f"{path}?{'&'.join(parts)}{hash_}{fragment}"
    return f"{scheme}://{authority}{tail}"


def redact(text: str, *sources: str) -> str:
    """`text` with the secrets of the given sources (in every form, see `secrets_of`) and the user
    information of any URL in it replaced by `***`: FFmpeg puts the source URL in its errors, and
    a camera's status, its events and the logs must not carry its credentials."""
    for secret in sorted({s for src in sources for s in secrets_of(src)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _USERINFO.sub(rf"\1{MASK}@", text)

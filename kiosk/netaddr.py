"""The hall's public address: the base URL that phones, tablets and other PCs open.

The bind address is not an address anyone else can use: `127.0.0.1` reaches
only the hall PC itself and `0.0.0.0` reaches nothing. Every link that leaves
the hall PC (the ticket's QR, rating links, agent and station pages, the kiosk
and board autostart URL, tablet pairing) is built from `public_url()` here, so
there is one answer to "where is the hall?".

Order: `server.public_url` when configured; else the bind host when it is a
real address; else (all interfaces) the PC's LAN address, found without
sending a packet: connecting a UDP socket to a private address makes the OS
choose the outgoing interface, whose address `getsockname()` gives. That works
the same on Windows and Linux (no ioctl, no /proc). `getaddrinfo(hostname)` is
the fallback. Loopback, link-local and unspecified addresses are never chosen
for "all interfaces"; if nothing else exists the result says so loudly
(`ok = False`) and falls back to loopback so the service keeps serving.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from hall.config.schema import Server

log = logging.getLogger(__name__)

ALL_INTERFACES = frozenset({"", "0.0.0.0", "::", "*"})

# Where the UDP "connect" points: private ranges a hall LAN or the extranet route to. No packet is sent.
PROBE_TARGETS = ("10.255.255.255", "172.31.255.255", "192.168.255.255", "100.64.0.1")

Source = Literal["configured", "bind", "discovered", "loopback"]


# dup-ok: a frozen result record, shaped like records/catalog.py ApplyResult only
@dataclass(frozen=True)
class PublicAddress:
    """The resolved base URL (no trailing slash) and how it was found, for the start-up log."""

    url: str
    host: str
    source: Source
    reason: str
    ok: bool = True          # False: no LAN address was found; links will not work from other devices

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """127.x, ::1 and "localhost" (names other than localhost are taken as real)."""
    if host.strip("[]").lower() in ("localhost", "localhost.localdomain"):
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def usable_lan_address(host: str) -> bool:
    """An address another device on the LAN could reach: not loopback, link-local, unspecified or multicast."""
    ip = _ip(host)
    if ip is None:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def _udp_route_address(target: str) -> str | None:
    """The local address the OS would send from to reach `target` (connect() on UDP sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((target, 9))
            return str(s.getsockname()[0])
    except OSError:
        return None


def _hostname_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def lan_addresses(targets: Iterable[str] = PROBE_TARGETS) -> list[str]:
    """The PC's LAN IPv4 addresses, best first (the route to a private network, then the host name's)."""
    found: list[str] = []
    candidates = [_udp_route_address(t) for t in targets] + _hostname_addresses()
    for addr in candidates:
        if addr and usable_lan_address(addr) and addr not in found:
            found.append(addr)
    return found


def _url_host(host: str) -> str:
    ip = _ip(host)
    return f"[{host.strip('[]')}]" if ip is not None and ip.version == 6 else host


def _base(host: str, port: int) -> str:
    return f"http://{_url_host(host)}:{port}"


def normalize_public_url(url: str) -> str:
    """`http://hall.lan:8080/` → `http://hall.lan:8080` (links append their own path)."""
    return url.strip().rstrip("/")


def resolve(server: Server, *, lan: Iterable[str] | None = None) -> PublicAddress:
    """Work out the public base URL for `server`; `lan` overrides discovery (tests)."""
    if server.public_url:
        url = normalize_public_url(server.public_url)
        host = urlsplit(url).hostname or ""
        return PublicAddress(url, host, "configured", f"server.public_url = {url}")
    host = server.host.strip()
    if host not in ALL_INTERFACES:
        reason = ("绑定地址为本机回环地址，仅本机可访问（演示）/ bound to loopback: this PC only"
                  if is_loopback(host) else f"绑定地址 / bind address {host}")
        return PublicAddress(_base(host, server.port), host, "loopback" if is_loopback(host) else "bind", reason)
    found = list(lan) if lan is not None else lan_addresses()
    found = [a for a in found if usable_lan_address(a)]
    if found:
        addr = found[0]
        others = f"；其他地址 / others: {', '.join(found[1:])}" if len(found) > 1 else ""
        return PublicAddress(_base(addr, server.port), addr, "discovered",
                             f"监听所有网卡，自动选用局域网地址 {addr}（出站路由所用网卡）/ "
                             f"listening on all interfaces, picked LAN address {addr}{others}")
    return PublicAddress(_base("127.0.0.1", server.port), "127.0.0.1", "loopback",
                         "未找到局域网地址：手机和其他电脑无法打开二维码链接，请检查网线/网卡，"
                         "或在配置中设置 server.public_url / no LAN address found", ok=False)


_cache: dict[tuple[str, str, int], PublicAddress] = {}


def public_address(server: Server) -> PublicAddress:
    """`resolve()` once per server settings in this process (discovery is a few syscalls, not free)."""
    key = (server.public_url, server.host, server.port)
    addr = _cache.get(key)
    if addr is None:
        addr = _cache[key] = resolve(server)
    return addr


def public_url(server: Server) -> str:
    """THE base URL of the hall for other devices, e.g. "http://192.168.1.10:8080" (no trailing slash)."""
    return public_address(server).url


def public_link(server: Server, path: str) -> str:
    """A full link for a phone or another PC: public base URL + path ("/r/…", "/station/3")."""
    return public_url(server) + ("" if path.startswith("/") else "/") + path


def announce(server: Server) -> PublicAddress:
    """At start: resolve once and say which address was picked and why (loudly when none was found).

    The result stays cached for the process, so every part of the running service (printers, pages,
    pairing) uses the same address even if the network changes later; a restart picks again.
    """
    addr = public_address(server)
    if not addr.ok:
        log.error("public address: %s", addr.reason)
    else:
        log.info("public address %s (%s)", addr.url, addr.reason)
    return addr

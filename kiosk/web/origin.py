"""Requests that change something must come from the hall's own pages (issue 10, item 2).

`SameSite=Strict` cookies are not enough on a hall LAN: a page served from
another port of the hall PC, or from any machine the browser treats as the
same site, could post a clerk's cookie along. Browsers send `Origin` with
every POST/PUT/PATCH/DELETE (and a `Referer` from older pages), so one hook
compares it with the service's own origin: the address the request was sent
to, or the configured public address.

Clients that are not browsers (the `kiosk` CLI, scripts, the tests) send no
`Origin`: they are let through when they carry no session cookie (nothing
ambient to abuse) or authenticate with a Bearer token, which a foreign page
cannot attach without a CORS preflight this service never grants.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, request
from hall.web.auth import COOKIE
from hall.web.errors import ApiError

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower-cased; None when it has none (e.g. `null`)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    default = 443 if parts.scheme == "https" else 80
    netloc = host if port in (None, default) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):     # IPv6 literal
        netloc = f"[{host}]" if port in (None, default) else f"[{host}]:{port}"
    return f"{parts.scheme}://{netloc}"


def own_origins(public_url: str = "") -> set[str]:
    """The origins the hall's pages are served from, as the browser names them."""
    out = {o for o in (origin_of(request.host_url), origin_of(public_url)) if o}
    return out


def _public_url() -> str:
    from hall.web.util import services

    server = services().config.server
    return str(getattr(server, "public_url", "") or "")


def check_origin() -> None:
    """before_request: 403 for a state-changing request from anywhere but the hall's own pages."""
    if request.method in SAFE_METHODS:
        return
    claimed = request.headers.get("Origin")
    source = "Origin"
    if claimed is None and request.headers.get("Referer"):
        claimed, source = request.headers["Referer"], "Referer"
    if claimed is not None:
        if origin_of(claimed) in own_origins(_public_url()):
            return
        log.warning("refused %s %s from %s: %s %r is not this hall", request.method, request.path,
                    request.remote_addr, source, claimed[:100])
        raise ApiError("foreign_origin",
                       f"已拒绝：该操作来自其他网页（{source}: {claimed[:100]}），只接受本大厅服务自身页面发出的请求",
                       403)
    if request.cookies.get(COOKIE) and not request.headers.get("Authorization", "").startswith("Bearer "):
        log.warning("refused %s %s from %s: session cookie without Origin or Referer", request.method,
                    request.path, request.remote_addr)
        raise ApiError("origin_required",
                       "已拒绝：带登录凭证的请求缺少来源（Origin），请从本大厅服务的页面操作", 403)


def install(app: Flask) -> None:
    app.before_request(check_origin)

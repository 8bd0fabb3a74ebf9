"""The county HTTP client: signed requests over one kept-alive connection, and the link's configuration.

Used by the sender loop (:mod:`hall.relay.sender`: batches of outbox messages)
and the fetchers (:mod:`hall.relay.fetch`: catalog, reasons, appointments,
holidays), each on a client of its own. It checks the endpoint (HTTPS, plain
http only to a loopback simulator), loads the signing secret from a file or the
environment (never from the config), builds a verifying TLS context from the
configured CA bundle, signs each request (:mod:`hall.relay.wire`), learns the
county's clock from a 401 ``stale_timestamp`` and retries a kept-alive
connection the county closed while idle, once.

Why ``http.client`` and not httpx or urllib3: the relay sends one request at a
time from one thread, so a pool would hold one connection, which is what this
client keeps; a proxy taken from the environment (httpx's ``trust_env``) would
be wrong on a government extranet where the county is reached directly, and
the configured CA bundle and timeout are two arguments here. httpx would bring
per-phase timeouts, HTTP/2 and a tested keep-alive pool, at the cost of four
packages (httpx, httpcore, h11, anyio) in both installer locks and a retest of
the signed wire bytes, which ``tests/test_relay*.py`` pin; nothing the hall
needs today depends on them. Revisit if the county asks for HTTP/2 or a proxy.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from hall.config.schema import County
from hall.relay import wire

log = logging.getLogger(__name__)

USER_AGENT = "hall-kiosk-relay/1"
MIN_SECRET_BYTES = 16


class RelayError(Exception):
    """Base of the relay's errors; the message is for a technician (Chinese, with detail)."""


class RelayConfigError(RelayError):
    """The county link is configured in a way the relay refuses to use."""


class TransportError(RelayError):
    """The county could not be reached or did not answer."""


class CountyError(RelayError):
    """The county answered with an HTTP error."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"县级平台返回 HTTP {status} {code}：{message}")
        self.status = status
        self.code = code
        self.retry_after = retry_after


# --------------------------------------------------------------------------- configuration

def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, base path) of a county endpoint; refuses what must not be used.

    The county is reached over HTTPS. Plain ``http://`` is accepted only for a
    loopback host (127.0.0.0/8, ::1, localhost): the county simulator and tests.
    """
    u = urlsplit(url)
    if u.scheme not in ("https", "http") or not u.hostname:
        raise RelayConfigError(f"county.endpoint {url!r} 无效：应为 https://主机[:端口][/路径]")
    if u.scheme == "http" and not _is_loopback(u.hostname):
        raise RelayConfigError(
            f"county.endpoint {url!r}：明文 http 只允许连接本机模拟器（127.0.0.1），县级平台必须使用 https "
            "/ plain http is allowed for a loopback simulator only"
        )
    if u.query or u.fragment:
        raise RelayConfigError(f"county.endpoint {url!r} 不应包含查询参数")
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname, port, u.path.rstrip("/")


def load_secret(county: County, environ: dict[str, str] | None = None) -> bytes:
    """The hall's signing secret: from the file named in the config, else the environment.

    The secret itself never sits in the config file (DESIGN.md §8).
    """
    env = os.environ if environ is None else environ
    if county.secret_file:
        path = Path(county.secret_file)
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise RelayConfigError(f"无法读取县级平台密钥文件 {path}：{exc.strerror or exc}") from exc
        where = f"密钥文件 {path}"
    else:
        secret = env.get(county.secret_env, "").strip().encode("utf-8")
        where = f"环境变量 {county.secret_env}"
        if not secret:
            raise RelayConfigError(
                f"未找到县级平台密钥：请设置{where}，或在配置 county.secret_file 中指定密钥文件"
            )
    if len(secret) < MIN_SECRET_BYTES:
        raise RelayConfigError(f"{where} 中的密钥过短（至少 {MIN_SECRET_BYTES} 字节）")
    return secret


def make_ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """A client TLS context that verifies the county's certificate (and host name).

    `ca_bundle` names a PEM file of the CA(s) to trust, for extranets with a
    private CA; without it the system's trust store is used. Verification is
    never switched off.
    """
    if ca_bundle and not Path(ca_bundle).is_file():
        raise RelayConfigError(f"county.ca_bundle 指定的证书文件不存在：{ca_bundle}")
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_bundle or None)
    except ssl.SSLError as exc:
        raise RelayConfigError(f"county.ca_bundle 无法加载（{ca_bundle}）：{exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx


# --------------------------------------------------------------------------- HTTP client

@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error(self) -> tuple[str, str, int | None]:
        """(code, message, server_time) of a wire-format error answer."""
        try:
            err = (self.json() or {}).get("error") or {}
            return str(err.get("code", "")), str(err.get("message", "")), err.get("server_time")
        except (ValueError, AttributeError):
            return "", self.body[:200].decode("utf-8", "replace"), None


class CountyClient:
    """Signed requests to the county over one kept-alive connection (one request at a time)."""

    def __init__(self, endpoint: str, hall_id: str, secret: bytes, *, ca_bundle: str = "",
                 timeout: float = 10.0, signature_method: str = "HMAC-SHA256",
                 now: Callable[[], float] = time.time) -> None:
        if not hall_id:
            raise RelayConfigError("county.hall_id 未配置")
        if signature_method not in wire.SIGNATURE_METHODS:
            raise RelayConfigError(f"不支持的签名方式 {signature_method}")
        # dup-ok: plain attribute set-up, shaped like drivers/printer/device.py's
        self.endpoint = endpoint
        self.scheme, self.host, self.port, self.base_path = check_endpoint(endpoint)
        self.hall_id = hall_id
        self._secret = secret
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.signature_method = signature_method
        self.now = now
        self._ssl = make_ssl_context(ca_bundle) if self.scheme == "https" else None
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self.skew = 0.0  # county clock minus ours, learnt from stale_timestamp answers
        self.on_date: Callable[[str | None], Any] | None = None  # each answer's Date header (hall clock check)

    def clone(self) -> CountyClient:
        c = CountyClient(self.endpoint, self.hall_id, self._secret, ca_bundle=self.ca_bundle,
                         timeout=self.timeout, signature_method=self.signature_method, now=self.now)
        c.skew = self.skew
        c.on_date = self.on_date
        return c

    def close(self) -> None:
        with self._lock:
            self._drop()

    # dup-ok: closing a connection that may already be broken, like drivers/transport.py close
    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            return self._conn, True
        if self._ssl is not None:
            self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._ssl)
        else:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn, False

    def request(self, method: str, path: str, body: bytes = b"", *, query: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send one signed request; raises TransportError when there is no answer."""
        target = self.base_path + path + (("?" + urlencode(query)) if query else "")
        with self._lock:
            for _ in range(2):
                signed = wire.signed_headers(self.hall_id, self._secret, method, target, body,
                                             self.now() + self.skew, self.signature_method)
                all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {}),
                               **signed}
                if method == "POST":
                    all_headers["Content-Type"] = "application/json; charset=utf-8"
                resp = self._roundtrip(method, target, body, all_headers)
                if resp.status == 401:
                    code, _, server_time = resp.error()
                    if code == "stale_timestamp" and isinstance(server_time, int):
                        skew = server_time - self.now()
                        if abs(skew - self.skew) > 1:
                            log.warning("hall clock differs from the county's by %+.0f s; signing with the "
                                        "county's time (check the hall PC's clock)", skew)
                            self.skew = skew
                            continue
                return resp
        return resp

    def _roundtrip(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Response:
        for _ in range(2):
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=body if method == "POST" else None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
                if r.will_close:
                    self._drop()
                if self.on_date is not None:
                    self.on_date(resp.headers.get("date"))
                return resp
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if reused:
                    # A kept-alive connection the county closed while idle: try once on a fresh
                    # one. Safe for a batch too: the county drops duplicates by message id.
                    continue
                raise TransportError(f"县级平台断开了连接（{type(exc).__name__}）") from exc
            except ssl.SSLCertVerificationError as exc:
                self._drop()
                raise TransportError(
                    f"县级平台证书校验失败：{exc.verify_message or exc}（检查 county.ca_bundle 是否为县级 CA 证书）"
                ) from exc
            except TimeoutError as exc:
                self._drop()
                raise TransportError(f"县级平台 {self.timeout:g} 秒内无应答（超时）") from exc
            except ConnectionRefusedError as exc:
                self._drop()
                raise TransportError(f"无法连接县级平台 {self.host}:{self.port}（连接被拒绝）") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise TransportError(f"与县级平台通信失败：{type(exc).__name__}: {exc}") from exc
        raise TransportError("县级平台连续两次断开连接")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its delta-seconds form; None for anything else."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None

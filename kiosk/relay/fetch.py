"""The county fetchers: catalog, reason lists, appointments and holiday lists, checked against the wire schemas.

Each fetch is one signed GET on a client of its own (a clone of the sender's),
so a fetch never waits behind a batch in flight, and it signs with the clock
skew the sender's client learnt. Only the envelope is checked here
(:func:`hall.relay.wire.validate`); the records code validates and installs the
content, and :mod:`hall.relay.sync` decides when to fetch. The outcome of the
last fetch of each kind is kept for the relay's status (technician page).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from hall.relay import wire
from hall.relay.client import CountyClient, CountyError, RelayConfigError, RelayError, parse_retry_after
from hall.relay.outbox import now_iso


@dataclass(frozen=True)
class Fetched:
    """A document fetched from the county: its version, ETag and content."""

    version: str
    etag: str | None
    doc: dict[str, Any]


class CountyFetcher:
    """GETs of what the county publishes, on `client`; `signer` is the sender's client, whose skew it reuses."""

    def __init__(self, client: CountyClient | None, *, signer: CountyClient | None = None,
                 config_error: str | None = None) -> None:
        self.client = client
        self.signer = signer
        self.config_error = config_error
        self._lock = threading.Lock()
        self._outcomes: dict[str, dict[str, Any]] = {}

    def outcomes(self) -> dict[str, dict[str, Any]]:
        """The last fetch of each kind: when, whether it worked, and what came (version or error)."""
        with self._lock:
            return {k: dict(v) for k, v in self._outcomes.items()}

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _fetch(self, name: str, path: str, schema: str, *, etag: str | None = None,
               query: dict[str, str] | None = None) -> Fetched | None:
        if self.client is None:
            raise RelayConfigError(self.config_error or "县级平台未配置")
        if self.signer is not None:
            self.client.skew = self.signer.skew
        try:
            headers = {"If-None-Match": etag} if etag else None
            resp = self.client.request("GET", path, query=query, headers=headers)
            if resp.status == 304:
                self.note(name, ok=True, detail="not modified")
                return None
            if resp.status != 200:
                code, message, _ = resp.error()
                raise CountyError(resp.status, code or f"http_{resp.status}", message or "（无说明）",
                                  parse_retry_after(resp.headers.get("retry-after")))
            try:
                doc = resp.json()
            except ValueError as exc:
                raise CountyError(200, "bad_answer", f"不是有效的 JSON：{exc}") from exc
            errors = wire.validate(doc, schema)
            if errors:
                raise CountyError(200, "bad_answer", "与接口文档不符：" + "; ".join(errors[:3]))
        except RelayError as exc:
            self.note(name, ok=False, detail=str(exc))
            raise
        version = str(doc.get("version", "")) if isinstance(doc, dict) else ""
        self.note(name, ok=True, detail=version)
        return Fetched(version, resp.headers.get("etag"), doc)

    def note(self, name: str, *, ok: bool, detail: str) -> None:
        """Record the outcome of fetching `name` (the sync jobs note what installing it gave, too)."""
        with self._lock:
            self._outcomes[name] = {"at": now_iso(), "ok": ok, "detail": detail}

    def catalog(self, etag: str | None = None) -> Fetched | None:
        """The county's current service catalog, or None when `etag` is still current (HTTP 304).

        Only the envelope (version, items) is checked here; the catalog itself is
        validated and swapped in by :mod:`hall.records.catalog`. Raises RelayError
        (TransportError, CountyError, RelayConfigError) when it cannot be fetched.
        """
        return self._fetch("catalog", wire.CATALOG_PATH, "Catalog", etag=etag)

    def reasons(self, etag: str | None = None) -> Fetched | None:
        """The rating and complaint reason lists, or None when `etag` is still current."""
        return self._fetch("reasons", wire.REASONS_PATH, "Reasons", etag=etag)

    def appointments(self, since: str = "0", limit: int = 500) -> dict[str, Any]:
        """Appointments booked on the county platform after cursor `since`.

        Returns ``{"cursor", "more", "appointments": [...]}`` (wire schema
        ``Appointments``); keep the cursor and ask again while ``more`` is true.
        """
        got = self._fetch("appointments", wire.APPOINTMENTS_PATH, "Appointments",
                          query={"since": since, "limit": str(limit)})
        assert got is not None
        return got.doc

    def holidays(self, year: int) -> dict[str, Any] | None:
        """One year's official holiday and adjusted-workday list, or None when not yet published (404)."""
        try:
            got = self._fetch("holidays", wire.HOLIDAYS_PATH, "Holidays", query={"year": str(year)})
        except CountyError as exc:
            if exc.status == 404:
                self.note("holidays", ok=True, detail=f"{year}: not published")
                return None
            raise
        assert got is not None
        return got.doc

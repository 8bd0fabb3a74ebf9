"""Reason lists: why a rating is a 差评, and the kiosk's complaint topics.

A default list ships with the product (data/reasons.json). The county sync
installs its own list with :meth:`ReasonList.install` (validated, written
atomically to ``reasons.json`` in the data folder); a broken or missing file
falls back to the last good list, then to the shipped one.

One entry is ``device_only``: a hardware keypad evaluator has five keys and no
way to say why, so a 差评 pressed there carries that entry (按键评价器评价，未说明
具体原因) and still opens a rectification. Citizens on the tablet, the kiosk and
the phone page never see it and must pick a real reason.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from hall.records.util import atomic_write_text

log = logging.getLogger(__name__)

FILE_NAME = "reasons.json"


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    device_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class Reasons:
    version: str
    rating: tuple[Reason, ...]
    complaint: tuple[Reason, ...]


class ReasonListError(ValueError):
    pass


def parse(doc: Any) -> Reasons:
    if not isinstance(doc, dict):
        raise ReasonListError("原因列表须为 JSON 对象")
    out: dict[str, tuple[Reason, ...]] = {}
    for key in ("rating_reasons", "complaint_reasons"):
        items = doc.get(key)
        if not isinstance(items, list) or not items:
            raise ReasonListError(f"原因列表缺少 {key}")
        seen: set[str] = set()
        reasons = []
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("code"), str) or not isinstance(it.get("text"), str):
                raise ReasonListError(f"{key} 中有无效条目：{it!r}")
            code, text = it["code"].strip(), it["text"].strip()
            if not code or not text or len(code) > 32 or len(text) > 100:
                raise ReasonListError(f"{key} 中有无效条目：{it!r}")
            if code in seen:
                raise ReasonListError(f"{key} 中代码 {code} 重复")
            seen.add(code)
            reasons.append(Reason(code, text, bool(it.get("device_only", False))))
        out[key] = tuple(reasons)
    if not any(not r.device_only for r in out["rating_reasons"]):
        raise ReasonListError("差评原因列表中没有群众可选的原因")
    return Reasons(str(doc.get("version", "")), out["rating_reasons"], out["complaint_reasons"])


def shipped() -> Reasons:
    text = resources.files("hall.records").joinpath("data", FILE_NAME).read_text(encoding="utf-8")
    return parse(json.loads(text))


class ReasonList:
    def __init__(self, data_dir: Path | None) -> None:
        self.path = data_dir / FILE_NAME if data_dir else None
        self._lock = threading.Lock()
        self._default = shipped()
        self._current = self._default
        self._mtime: float | None = None
        self._load()

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self._current = parse(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            log.error("reason list %s is unusable, keeping version %s: %s", self.path, self._current.version, exc)

    def current(self) -> Reasons:
        with self._lock:
            self._load()
            return self._current

    def install(self, doc: dict[str, Any]) -> Reasons:
        """Validate and install a list synced from the county; the old one stays if this one is bad."""
        if self.path is None:
            raise ReasonListError("未配置数据目录")
        parsed = parse(doc)
        if not any(r.device_only for r in parsed.rating):
            # Keep the keypad's entry even if the county's list lacks it.
            device = [r for r in self._default.rating if r.device_only]
            parsed = Reasons(parsed.version, parsed.rating + tuple(device), parsed.complaint)
        with self._lock:
            body = {
                "version": parsed.version,
                "rating_reasons": [{"code": r.code, "text": r.text, "device_only": r.device_only}
                                   for r in parsed.rating],
                "complaint_reasons": [{"code": r.code, "text": r.text} for r in parsed.complaint],
            }
            atomic_write_text(self.path, json.dumps(body, ensure_ascii=False, indent=1) + "\n")
            self._current = parsed
            self._mtime = self.path.stat().st_mtime
        return parsed

    def device_reason(self) -> Reason:
        for r in self.current().rating:
            if r.device_only:
                return r
        return next(r for r in self._default.rating if r.device_only)

    def public(self) -> dict[str, Any]:
        """What the tablet, kiosk and phone pages offer."""
        cur = self.current()
        return {"version": cur.version,
                "rating_reasons": [r.as_dict() for r in cur.rating if not r.device_only],
                "complaint_reasons": [r.as_dict() for r in cur.complaint]}

    def resolve_rating(self, codes: list[str], *, device: bool = False) -> list[dict[str, str]]:
        """[{code, text}] for the given codes; unknown codes, or the keypad's entry from a citizen, are refused."""
        by_code = {r.code: r for r in self.current().rating}
        out, seen = [], set()
        for code in codes:
            r = by_code.get(code)
            if r is None or (r.device_only and not device):
                raise ReasonListError(f"评价原因代码 {code} 无效")
            if code not in seen:
                seen.add(code)
                out.append(r.as_dict())
        return out

    def resolve_complaint(self, codes: list[str]) -> list[dict[str, str]]:
        by_code = {r.code: r for r in self.current().complaint}
        out, seen = [], set()
        for code in codes:
            r = by_code.get(code)
            if r is None:
                raise ReasonListError(f"意见原因代码 {code} 无效")
            if code not in seen:
                seen.add(code)
                out.append(r.as_dict())
        return out

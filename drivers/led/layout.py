"""What the LED screens say: pure models fed by queue events, and their text rows.

The main board (大屏) shows the newest call, a few earlier calls and the
waiting counts; a window screen (窗口屏) shows its window and its current
number, or "暂停服务". Each row is one dynamic area, so a change re-sends
only the rows it touches. The models are rebuilt from the engine's snapshot
after a reconnect or at a new day, and kept current from hub events in
between; they never touch a database or a device themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hall.drivers.led.protocol import AreaSpec

PAUSED_TEXT = "暂停服务"
IDLE_TEXT = "欢迎办理"


# dup-ok: a frozen value dataclass, the shape of drivers/printer/device.py PrintOutcome; other fields
@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    row_height: int = 16
    max_rows: int = 5
    color: str | None = None
    font_px: int | None = None      # None: the card's default font (16 dots)

    @property
    def rows(self) -> int:
        return max(1, min(self.max_rows, self.height // self.row_height))

    def areas(self, texts: Sequence[str], *, centre_first: bool = False) -> list[AreaSpec]:
        out = []
        for i, text in enumerate(texts[: self.rows]):
            out.append(AreaSpec(id=i, x=0, y=i * self.row_height, width=self.width, height=self.row_height,
                                text=text or " ", color=self.color, font_px=self.font_px,
                                align="center" if (centre_first and i == 0) else "left"))
        return out


@dataclass
class Call:
    number: str
    window: int
    resumed: bool = False        # a parked (挂起) ticket called back: "请A003号回到3号窗口"


@dataclass
class BoardModel:
    """Newest calls (newest first, one entry per ticket) and waiting counts per category."""

    categories: list[str]
    calls: list[Call] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)
    date: str = ""
    keep: int = 10

    def seed(self, snapshot: Mapping[str, Any]) -> None:
        self.date = str(snapshot.get("date", ""))
        self.waiting = {c["prefix"]: int(c.get("waiting", 0)) for c in snapshot.get("categories", [])}
        self.calls = []
        for r in snapshot.get("recent_calls", []):
            if r.get("window") is not None and all(c.number != r["number"] for c in self.calls):
                self.calls.append(Call(str(r["number"]), int(r["window"]), bool(r.get("resumed"))))
        del self.calls[self.keep:]

    def apply(self, kind: str, data: Mapping[str, Any]) -> bool:
        """Take one hub event; True when it was a call (the newest-call row re-lights even if unchanged)."""
        waiting = data.get("waiting")
        if isinstance(waiting, Mapping):
            self.waiting.update({str(k): int(v) for k, v in waiting.items()})
        if kind == "ticket.called" and data.get("window") is not None:
            number, window = str(data["number"]), int(data["window"])
            self.calls = [c for c in self.calls if c.number != number]
            self.calls.insert(0, Call(number, window, bool(data.get("resumed"))))
            del self.calls[self.keep:]
            return True
        return False


@dataclass
class WindowModel:
    """One window: on post or not, paused or not, and the ticket it is calling or serving."""

    number: int
    name: str = ""
    paused: bool = False
    pause_reason: str = ""
    staffed: bool = False
    current: dict[str, Any] | None = None

    def seed(self, view: Mapping[str, Any]) -> None:
        self.name = str(view.get("name") or self.name)
        self.paused = bool(view.get("paused"))
        self.pause_reason = str(view.get("pause_reason") or "") if self.paused else ""
        self.staffed = view.get("clerk_id") is not None
        cur = view.get("current")
        self.current = dict(cur) if isinstance(cur, Mapping) else None

    def apply(self, kind: str, data: Mapping[str, Any]) -> bool:
        """Take one hub event; True when it called a ticket to this window."""
        if kind == "window.updated":
            view = data.get("window")
            if isinstance(view, Mapping) and view.get("number") == self.number:
                self.seed(view)
            return False
        ticket = data.get("ticket")
        if not isinstance(ticket, Mapping):
            return False
        if kind == "ticket.called":
            if data.get("window") == self.number:
                self.current = {**ticket, "state": "called"}
                self.staffed = True
                return True
            if self.current is not None and self.current.get("id") == ticket.get("id"):
                self.current = None      # the same ticket called elsewhere (cannot happen today, but harmless)
            return False
        if kind == "ticket.updated":
            mine = self.current is not None and self.current.get("id") == ticket.get("id")
            if ticket.get("state") in ("called", "serving") and ticket.get("window") == self.number:
                self.current = dict(ticket)
            elif mine or (self.current is not None and data.get("transferred_from") == self.current.get("id")):
                self.current = None
        return False


def window_title(number: int, name: str = "") -> str:
    return name or f"{number}号窗口"


@dataclass(frozen=True)
class Templates:
    call: str = "请{number}号到{window}号窗口"
    resumed: str = "请{number}号回到{window}号窗口"
    earlier: str = "{number}→{window}号窗口"
    welcome: str = "欢迎光临"
    waiting: str = "等候"


def board_rows(model: BoardModel, rows: int, *, title: str, templates: Templates = Templates()) -> list[str]:
    """Board text, one row per dynamic area.

    4+ rows: title, newest call, earlier calls…, waiting counts; 3 rows: newest,
    earlier, waiting; 2 rows: newest, waiting; 1 row: newest call only.
    """
    calls = model.calls
    newest = (templates.resumed if calls[0].resumed else templates.call).format(
        number=calls[0].number, window=calls[0].window) if calls else (
        f"{templates.welcome}{title}" if title else templates.welcome)
    waiting = templates.waiting + " " + " ".join(f"{p}:{model.waiting.get(p, 0)}" for p in model.categories)
    if rows <= 1:
        return [newest]
    if rows == 2:
        return [newest, waiting]
    head = [title, newest] if rows >= 4 else [newest]
    n_earlier = rows - len(head) - 1
    earlier_calls = calls[1:]
    per_row = 2
    earlier = []
    for i in range(n_earlier):
        chunk = earlier_calls[i * per_row:(i + 1) * per_row]
        earlier.append("  ".join(templates.earlier.format(number=c.number, window=c.window) for c in chunk))
    return [*head, *earlier, waiting]


def text_cells(text: str) -> int:
    """Width in half-width cells: a hanzi (or full-width sign) takes two, like on the card's font."""
    return sum(1 if ord(ch) < 0x2E80 else 2 for ch in text)


def window_rows(model: WindowModel, rows: int, cells: int | None = None) -> list[str]:
    """Window screen text: title row (when there is room) and the status row.

    A paused window says why (暂停服务：会议) when the row holds it in `cells`
    half-width cells; otherwise just 暂停服务, never a clipped reason.
    """
    cur = model.current
    if model.paused and model.pause_reason and cells is not None and \
            text_cells(with_reason := f"{PAUSED_TEXT}：{model.pause_reason}") <= cells:
        status = with_reason
    elif model.paused or not model.staffed:
        status = PAUSED_TEXT
    elif cur is not None and cur.get("state") == "called":
        status = f"请{cur.get('number')}号"
    elif cur is not None and cur.get("state") == "serving":
        status = f"{cur.get('number')} 办理中"
    else:
        status = IDLE_TEXT
    if rows <= 1:
        return [status]
    return [window_title(model.number, model.name), status]

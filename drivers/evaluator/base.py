"""What every evaluator (serial keypad, HID keypad) shares: levels, the rating sink, prompts.

The clerk's 请评价 makes the records service open a *rating prompt* and publish
`rating.prompt` {window, prompt_id, ticket_id, expires_at, clerk_name} on the
hub; it publishes `rating.closed` {window, prompt_id, reason} when the prompt
ends (rated on another channel, cancelled, expired). An evaluator only listens:
its hub listener enqueues, and the device's worker thread opens or closes the
prompt in a `PromptGate`, shows it on the keypad, and turns exactly one valid
key press during the prompt into one call of the rating sink.

A press counts only while a prompt the clerk opened is open: outside prompt
mode, after the timeout, with another prompt's token, or a second press for the
same prompt, it records nothing (and is counted in the device's status).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hall.drivers.options import float_option

log = logging.getLogger(__name__)

# Satisfaction levels, best first (names are what the service stores and relays).
LEVELS: tuple[str, ...] = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
BAD_LEVELS = frozenset({"不满意", "非常不满意"})     # 差评
CHANNEL = "窗口评价器"

DEFAULT_PROMPT_TEXT = "请您对本次服务进行评价"
DEFAULT_PROMPT_TIMEOUT = 30.0      # seconds, when the event carries no expires_at
TEST_TOKEN = 0xFFFF                # reserved for the technician's test prompt: never a rating


class RatingSink(Protocol):
    """Records one rating for the open prompt; True when stored, False when refused.

    Provided by the records service as `DeviceContext.extra["rating_sink"]`. It is
    called on the evaluator's worker thread (never a request thread), once per
    prompt at most; it may do database work but should return within a second.
    """

    def __call__(self, window: int, level: str, channel: str, prompt_id: int) -> bool: ...


SinkProvider = Callable[[], RatingSink | None]


@dataclass(frozen=True)
class OpenPrompt:
    prompt_id: int
    token: int                  # 16-bit id the keypad echoes with each KEY
    window: int
    ticket_id: int | None
    clerk_name: str
    deadline: float             # time.monotonic() at which the prompt times out
    opened: float

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.deadline - (time.monotonic() if now is None else now))


class PressOutcome:
    ACCEPTED = "accepted"
    NOT_PROMPTED = "not_prompted"     # no prompt open, or it timed out
    STALE = "stale"                   # the press names another prompt
    UNKNOWN_LEVEL = "unknown_level"


class PromptGate:
    """The prompt state of one window's evaluator, thread-safe, no I/O.

    `open` starts a prompt (a new one replaces an unfinished one), `close` ends
    it, `expire` times it out, and `press` decides whether a key press is the
    prompt's one rating. Time is `time.monotonic()` unless given.
    """

    def __init__(self, window: int) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._current: OpenPrompt | None = None
        self._tokens = itertools.count(1)
        self.counters = {"prompts": 0, "expired": 0, "closed": 0, "accepted": 0,
                         "not_prompted": 0, "stale": 0}

    def _next_token(self) -> int:
        while True:
            t = next(self._tokens) & 0xFFFF
            if t and t != TEST_TOKEN:
                return t

    def open(self, prompt_id: int, *, timeout: float, clerk_name: str = "", ticket_id: int | None = None,
             now: float | None = None) -> OpenPrompt:
        now = time.monotonic() if now is None else now
        with self._lock:
            p = OpenPrompt(prompt_id, self._next_token(), self.window, ticket_id, clerk_name,
                           now + max(0.0, timeout), now)
            self._current = p
            self.counters["prompts"] += 1
            return p

    def close(self, prompt_id: int | None = None) -> OpenPrompt | None:
        """End the prompt (only if it is `prompt_id`, when given); returns what was closed."""
        return self._end(lambda p: prompt_id is None or p.prompt_id == prompt_id, "closed")

    def expire(self, now: float | None = None) -> OpenPrompt | None:
        at = time.monotonic() if now is None else now
        return self._end(lambda p: at >= p.deadline, "expired")

    def _end(self, ends: Callable[[OpenPrompt], bool], counter: str) -> OpenPrompt | None:
        with self._lock:
            p = self._current
            if p is None or not ends(p):
                return None
            self._current = None
            self.counters[counter] += 1
            return p

    def current(self, now: float | None = None) -> OpenPrompt | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            p = self._current
            return p if p is not None and now < p.deadline else None

    def press(self, level: str, token: int | None = None,
              now: float | None = None) -> tuple[str, OpenPrompt | None]:
        """Decide on a key press. ACCEPTED closes the prompt: the caller records the rating.

        `token` is what a serial keypad echoes (None for keypads that cannot,
        such as HID keyboards: they rate whatever prompt is open).
        """
        now = time.monotonic() if now is None else now
        if level not in LEVELS:
            return PressOutcome.UNKNOWN_LEVEL, None
        with self._lock:
            p = self._current
            if p is None or now >= p.deadline:
                self.counters["not_prompted"] += 1
                return PressOutcome.NOT_PROMPTED, None
            if token is not None and token != p.token:
                self.counters["stale"] += 1
                return PressOutcome.STALE, None
            self._current = None
            self.counters["accepted"] += 1
            return PressOutcome.ACCEPTED, p

    def view(self, now: float | None = None) -> dict[str, Any] | None:
        p = self.current(now)
        if p is None:
            return None
        return {"prompt_id": p.prompt_id, "token": p.token, "ticket_id": p.ticket_id,
                "clerk_name": p.clerk_name, "remaining_s": round(p.remaining(now), 1)}


def prompt_timeout(expires_at: Any, now: datetime, default: float = DEFAULT_PROMPT_TIMEOUT) -> float:
    """Seconds left until `expires_at` (ISO-8601 text, epoch seconds, or datetime) on the hall's clock.

    The event's expiry was computed on the service's clock, so it is compared
    with that clock's `now`, then turned into a local monotonic deadline; this
    keeps working when the wall clock jumps. Unknown forms fall back to `default`.
    """
    try:
        if isinstance(expires_at, datetime):
            when = expires_at
        elif isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
            return max(0.0, float(expires_at) - now.timestamp())
        elif isinstance(expires_at, str) and expires_at:
            when = datetime.fromisoformat(expires_at)
        else:
            return default
        if when.tzinfo is None and now.tzinfo is not None:
            when = when.replace(tzinfo=now.tzinfo)
        return max(0.0, (when - now).total_seconds())
    except (ValueError, TypeError, OverflowError):
        return default


class EventInbox:
    """Where hub listeners drop rating events for the worker thread (bounded, never blocks)."""

    KINDS = ("rating.prompt", "rating.closed")

    def __init__(self, window: int, maxlen: int = 64) -> None:
        self.window = window
        self._q: deque[tuple[str, dict[str, Any]]] = deque(maxlen=maxlen)

    def listener(self, event: Any) -> None:
        """EventHub listener: filter by kind and window, enqueue; no I/O, no locks held long."""
        if event.kind not in self.KINDS:
            return
        data = event.data
        try:
            if int(data.get("window", -1)) != self.window:
                return
        except (TypeError, ValueError):
            return
        self._q.append((event.kind, dict(data)))

    def pending(self) -> bool:
        return bool(self._q)

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while True:
            try:
                out.append(self._q.popleft())
            except IndexError:
                return out


class SinkCaller:
    """Calls the rating sink, logging once when none is configured; counts outcomes."""

    def __init__(self, device: str, provider: SinkProvider) -> None:
        self.device = device
        self.provider = provider
        self._warned = False
        self.counters = {"recorded": 0, "refused": 0, "sink_errors": 0, "no_sink": 0}

    def __call__(self, prompt: OpenPrompt, level: str) -> bool:
        sink = self.provider()
        if sink is None:
            self.counters["no_sink"] += 1
            if not self._warned:
                log.error("evaluator %s: no rating sink configured; ratings are dropped", self.device)
                self._warned = True
            return False
        try:
            ok = bool(sink(prompt.window, level, CHANNEL, prompt.prompt_id))
        except Exception:
            self.counters["sink_errors"] += 1
            log.exception("evaluator %s: rating sink failed for prompt %s", self.device, prompt.prompt_id)
            return False
        self.counters["recorded" if ok else "refused"] += 1
        return ok


def event_prompt(data: dict[str, Any], now: datetime, default_timeout: float) -> tuple[int, float, str, int | None]:
    """(prompt_id, timeout seconds, clerk name, ticket id) from a rating.prompt payload."""
    prompt_id = int(data["prompt_id"])
    timeout = prompt_timeout(data.get("expires_at"), now, default_timeout)
    ticket = data.get("ticket_id")
    return prompt_id, timeout, str(data.get("clerk_name") or ""), int(ticket) if ticket is not None else None


def apply_events(device: str, inbox: EventInbox, gate: PromptGate, now: datetime,
                 default_timeout: float) -> list[OpenPrompt]:
    """Open and close `gate`'s prompt as the queued rating events say, then time it out.

    Both keypads run this on their worker thread; returns the prompts closed because they
    were rated (the serial keypad thanks the citizen for those).
    """
    rated: list[OpenPrompt] = []
    for kind, data in inbox.drain():
        try:
            if kind == "rating.prompt":
                prompt_id, timeout, clerk, ticket = event_prompt(data, now, default_timeout)
                gate.open(prompt_id, timeout=timeout, clerk_name=clerk, ticket_id=ticket)
                log.info("evaluator %s: prompt %s open for %.0f s", device, prompt_id, timeout)
            elif kind == "rating.closed":
                closed = gate.close(int(data["prompt_id"]))
                if closed is not None and data.get("reason") == "rated":
                    rated.append(closed)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("evaluator %s: malformed %s event %r: %s", device, kind, data, exc)
    expired = gate.expire()
    if expired is not None:
        log.info("evaluator %s: prompt %s timed out", device, expired.prompt_id)
    return rated


def option_float(options: dict[str, Any], key: str, default: float) -> float:
    return float_option(options, key, default, what="评价器选项")

"""The hall's configuration as typed, validated models.

The TOML file is the technician's only way to describe a hall, so every rule a
hall could get wrong is checked here, at start, with a message that names the
key path. Cross-references (a window serving a category that does not exist)
are checked in `HallConfig`'s validators for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PREFIX_RE = re.compile(r"^[A-Z]$")


class Strict(BaseModel):
    """Base for config sections: unknown keys are typos, so they are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError(f"结束时间 {self.end} 必须晚于开始时间 {self.start}")
        return self


class Hours(Strict):
    """Opening hours: the same periods on each listed weekday (1 = Monday)."""

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = [1, 2, 3, 4, 5]
    periods: list[Period] = [
        Period(start=time(8, 30), end=time(12, 0)),
        Period(start=time(14, 0), end=time(17, 30)),
    ]
    # Outside opening hours the kiosk refuses new tickets only when enforced;
    # the demo hall turns this off so it can be tried at any time.
    enforce: bool = True


class Hall(Strict):
    name: str = Field(min_length=1)
    region_code: str = Field(pattern=r"^\d{6}(\d{3})?(\d{3})?$")
    timezone: str = "Asia/Shanghai"
    hours: Hours = Hours()
    # The hall's public phone, printed on receipts (受理回执) and 告知单; empty: each item's own phone.
    phone: str = Field(default="", pattern=r"^[0-9+()（）\- ]{0,30}$")
    # 长辈模式 as the kiosks' starting state, and what the idle reset returns to (a hall whose
    # visitors are mostly elderly turns it on); a [[kiosks]] entry's large_mode overrides it.
    kiosk_large_mode: bool = False


class Category(Strict):
    prefix: str
    name: str = Field(min_length=1)
    daily_cap: int = Field(default=300, ge=1, le=999)
    # Used for the wait estimate until the day has its own finished tickets.
    default_service_minutes: float = Field(default=6.0, gt=0, le=240)
    # Service-level targets (服务时限目标): None = the hall-wide default in [queue]
    # (alert_wait_minutes, target_service_minutes). The manager's figures show the share
    # within target, the board marks a category over target, and 预警 uses the wait target.
    target_wait_minutes: int | None = Field(default=None, ge=1, le=600)
    target_service_minutes: int | None = Field(default=None, ge=1, le=480)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not PREFIX_RE.match(v):
            raise ValueError(f'前缀必须是一个大写字母，而不是 "{v}"')
        return v


class Window(Strict):
    number: int = Field(ge=1, le=99)
    name: str = ""
    categories: list[str] = Field(min_length=1)
    primary: str | None = None


_HASH = r"^pbkdf2_sha256\$\d+\$[0-9a-f]+\$[0-9a-f]+$"


class Staff(Strict):
    id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,32}$")
    name: str = Field(min_length=1)
    role: Literal["clerk", "manager", "technician"] = "clerk"
    post: Literal["A", "B"] = "A"
    windows: list[int] = []
    duties: str = ""
    # Clerks sign in with a 6-digit PIN; the manager and technician with a password of
    # at least 8 characters (`kiosk config hash-password`). A manager/technician entry
    # that still has a pin_hash keeps working, with a warning, until it is migrated.
    pin_hash: str | None = Field(default=None, pattern=_HASH)
    password_hash: str | None = Field(default=None, pattern=_HASH)

    @model_validator(mode="after")
    def _one_secret(self) -> Staff:
        if self.pin_hash and self.password_hash:
            raise ValueError("pin_hash 与 password_hash 只能设置一个 / set pin_hash or password_hash, not both")
        if self.role == "clerk" and not self.pin_hash:
            raise ValueError("窗口工作人员须设置 pin_hash（6 位数字 PIN）/ clerks need a pin_hash")
        if not (self.pin_hash or self.password_hash):
            raise ValueError("须设置 password_hash（kiosk config hash-password）/ password_hash is required")
        return self

    @property
    def secret_hash(self) -> str:
        return self.password_hash or self.pin_hash or ""

    @property
    def needs_password(self) -> bool:
        """A manager or technician still signing in with a PIN: warn until migrated."""
        return self.role != "clerk" and not self.password_hash


class Device(Strict):
    """One device: `kind` picks the driver, `url` the channel it talks through.

    URLs: `socket://127.0.0.1:9100`, `/dev/ttyUSB0`, `COM3`, `loop://`,
    `usb://0x0416:0x5011`, `file:///dev/usb/lp0`, `emulator://` (demo only).
    """

    name: str = Field(pattern=r"^[0-9A-Za-z_-]{1,32}$")
    kind: Literal["printer", "led", "evaluator", "camera", "voice", "idcard"]
    url: str = Field(min_length=1)
    window: int | None = None
    options: dict[str, str | int | float | bool] = {}


class PauseReason(Strict):
    """One coded pause reason (暂停原因): the code is what figures group by, the label what screens show."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")
    label: str = Field(min_length=1, max_length=12)
    # 其他: the clerk must say what (free text), or the break-time figures would hide it
    needs_text: bool = False


DEFAULT_PAUSE_REASONS = [
    PauseReason(code="meeting", label="会议"),
    PauseReason(code="errand", label="外出办事"),
    PauseReason(code="break", label="休息"),
    PauseReason(code="training", label="培训"),
    PauseReason(code="other", label="其他", needs_text=True),
]


class QueuePolicy(Strict):
    recall_limit: int = Field(default=3, ge=1, le=10)
    no_show: Literal["void", "requeue"] = "requeue"
    requeue_after: int = Field(default=3, ge=0, le=50)
    max_requeues: int = Field(default=1, ge=0, le=5)
    call_order: list[Literal["appointment", "priority", "normal"]] = ["appointment", "priority", "normal"]
    prefer_primary: bool = False
    mean_service_window: int = Field(default=20, ge=1, le=500)
    announce_template: str = "请{number}号到{window}号窗口办理"
    # 预警: the manager is warned when someone has waited longer than this,
    # or a window has been paused longer than `alert_pause_minutes`.
    alert_wait_minutes: int = Field(default=30, ge=1, le=600)
    alert_pause_minutes: int = Field(default=30, ge=1, le=600)
    # The default service-time target of a category that sets none (`categories[].target_service_minutes`).
    target_service_minutes: int = Field(default=20, ge=1, le=480)
    # A parked (挂起) ticket called back to its window: announced like a call, in these words.
    resume_template: str = "请{number}号回到{window}号窗口"
    # Coded pauses: the clerk picks one; break-time figures group by code.
    pause_reasons: list[PauseReason] = Field(default_factory=lambda: list(DEFAULT_PAUSE_REASONS), min_length=1)

    @field_validator("pause_reasons")
    @classmethod
    def _reasons(cls, v: list[PauseReason]) -> list[PauseReason]:
        codes = [r.code for r in v]
        if len(set(codes)) != len(codes):
            raise ValueError("暂停原因代码不能重复")
        return v

    def pause_reason(self, code: str) -> PauseReason | None:
        return next((r for r in self.pause_reasons if r.code == code), None)

    @field_validator("call_order")
    @classmethod
    def _order(cls, v: list[str]) -> list[str]:
        if sorted(v) != ["appointment", "normal", "priority"]:
            raise ValueError("必须恰好包含 appointment、priority、normal 各一次")
        return v


class County(Strict):
    endpoint: str = ""
    hall_id: str = ""
    # The secret itself never sits in the config file: only where to find it.
    secret_env: str = "HALL_COUNTY_SECRET"
    secret_file: str = ""
    ca_bundle: str = ""
    batch_size: int = Field(default=200, ge=1, le=5000)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


# dup-ok: config sections are alike in shape (bounded Field defaults); Retention below is another section
class Records(Strict):
    """Case and rating rules the hall (or the county's rules) may tune."""

    # A 差评 opens a rectification (整改) due this many working days later.
    rectification_days: int = Field(default=15, ge=1, le=90)
    # 限时办结: a case is flagged "near" when this many working days or fewer remain.
    near_due_days: int = Field(default=2, ge=0, le=30)
    # How long the evaluator waits for a rating after the clerk's "请评价".
    prompt_seconds: int = Field(default=120, ge=15, le=1800)
    # The clerk sees a rating only once it is final: this long after it was given.
    clerk_delay_minutes: int = Field(default=30, ge=0, le=1440)
    # A just-finished ticket can still be rated at its window for this long.
    rate_after_finish_minutes: int = Field(default=30, ge=1, le=480)


class Server(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # The address phones, tablets and other PCs use (ticket QR, links, kiosk/board autostart),
    # e.g. "http://192.168.1.10:8080". Empty: the bind host, or with host = "0.0.0.0" the PC's
    # LAN address found at start (hall.netaddr).
    public_url: str = ""
    # Each live page (clerk console, evaluator tablet, board, kiosk, manager…) holds one
    # thread for its SSE stream; a six-window hall has ~16 such pages, so leave room.
    threads: int = Field(default=48, ge=4, le=200)
    max_streams: int = Field(default=32, ge=1, le=190)
    data_dir: str = ""
    demo: bool = False

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f'应为 "http://地址:端口"，例如 "http://192.168.1.10:8080"，而不是 "{v}"')
        if parts.query or parts.fragment:
            raise ValueError(f'不能带 ? 或 # 部分："{v}"')
        if parts.hostname in ("0.0.0.0", "::"):
            raise ValueError(f"{parts.hostname} 不是其他设备能访问的地址，请写本机的局域网地址")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError(f'端口无效："{v}"') from None
        return v.rstrip("/")

    @model_validator(mode="after")
    def _spare_threads(self) -> Server:
        if self.max_streams > self.threads - 4:
            raise ValueError(
                f"max_streams ({self.max_streams}) 必须比 threads ({self.threads}) 至少少 4，"
                "否则实时推送会占满所有线程"
            )
        return self


class Backup(Strict):
    """The daily automatic backup (`kiosk backup` by hand takes the same snapshot)."""

    enabled: bool = True
    # A USB disk or a network share; empty = `backups/` in the data folder, which
    # survives a bad update but not a dead disk (`kiosk config check` says so).
    folder: str = ""
    # Taken once a day at the first check after this time (the PC may be off at night).
    daily_at: time = time(12, 15)
    # Grandfather-father-son: the newest backup of each of the last N days, weeks and months.
    keep_daily: int = Field(default=7, ge=1, le=366)
    keep_weekly: int = Field(default=4, ge=0, le=104)
    keep_monthly: int = Field(default=12, ge=0, le=120)


# dup-ok: a config section shaped like Records above; the settings differ
class Retention(Strict):
    """How long records are kept before the daily pruning removes them."""

    # Tickets, their events and the audit trail: at least 6 months (等保2.0 asks ≥ 6 months for audit).
    days: int = Field(default=400, ge=183, le=3650)
    # Relay messages carrying personal data: removed this long after the county acknowledged them.
    relay_acked_days: int = Field(default=30, ge=1, le=3650)
    batch_rows: int = Field(default=500, ge=50, le=10000)


class ClockCheck(Strict):
    """Compare the PC clock with the county platform's Date header (and NTP servers, if any)."""

    # Warn on /healthz and the technician page beyond this offset.
    max_offset_seconds: float = Field(default=120.0, ge=5, le=3600)
    # SNTP servers on the extranet (halls rarely reach the internet): "host" or "host:port".
    ntp_servers: list[str] = []
    check_minutes: int = Field(default=60, ge=5, le=1440)


class Security(Strict):
    """Paired devices (window tablets, kiosk terminals): how long a pairing code and a kiosk reprint last."""

    # A citizen may reprint a ticket only at the kiosk that issued it, and only this soon after
    # (later, or elsewhere, staff reprint it at a window): a lost slip, not a copy machine.
    reprint_minutes: int = Field(default=5, ge=1, le=60)
    # The technician's one-time 6-digit pairing code: short-lived, since six digits are guessable.
    pairing_code_minutes: int = Field(default=10, ge=2, le=60)


class Kiosk(Strict):
    """A kiosk terminal (自助终端): its page is /kiosk/<id>, and its tickets come out of its own printer."""

    id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,32}$")
    name: str = Field(min_length=1, max_length=40)
    printer: str = Field(min_length=1)          # a [[devices]] printer's name
    # The kiosk PC's own A4 printer for blank forms (its system printer name): the browser prints
    # forms there (Chromium --kiosk-printing uses the PC's default printer), not the hall PC.
    a4_printer: str | None = None
    # The ID-card reader ([[devices]] kind "idcard") at this kiosk: its reads appear on this kiosk's
    # take-number screen only. A reader with neither a window nor a kiosk serves the plain /kiosk page.
    idcard: str | None = None
    # 长辈模式 by default on this terminal (and after each idle reset); None: the hall's kiosk_large_mode.
    large_mode: bool | None = None


class Citizen(Strict):
    """刷身份证取号 and the ticket's phone page."""

    # People this old or older are offered the 绿色通道 (priority lane) after a card read; they confirm.
    priority_age: int = Field(default=70, ge=50, le=120)
    # Numbers one person (by ID card) may take per category per day: stops number-hoarding (号贩子).
    daily_limit_per_category: int = Field(default=2, ge=1, le=20)
    # A card read waits this long on the kiosk for the citizen to choose a category.
    card_read_seconds: int = Field(default=120, ge=15, le=600)
    # The phone page says "还有N位" when this many people or fewer are ahead.
    near_ahead: int = Field(default=3, ge=1, le=20)
    # How often the phone page asks for its ticket's position (polling: no stream thread per phone).
    phone_poll_seconds: float = Field(default=5.0, ge=1.0, le=60.0)


def _prints_tickets(d: Device) -> bool:
    """A printer device's `tickets` option (default true), read like hall.drivers.options.bool_option."""
    v = d.options.get("tickets", True)
    return v not in (False, 0) and str(v).strip().lower() not in ("false", "no", "0")


def _default_categories() -> list[Category]:
    names = {
        "A": "司法信访、应急、城管",
        "B": "民政、退役军人事务",
        "C": "医保、人社",
        "D": "自然资源、林业、住建",
        "E": "财政惠农、农村综合",
        "F": "卫计、残联",
    }
    return [Category(prefix=p, name=n) for p, n in names.items()]


class HallConfig(Strict):
    hall: Hall
    categories: list[Category] = Field(default_factory=_default_categories, min_length=1)
    windows: list[Window] = Field(min_length=1)
    staff: list[Staff] = []
    devices: list[Device] = []
    kiosks: list[Kiosk] = []
    queue: QueuePolicy = QueuePolicy()
    county: County = County()
    records: Records = Records()
    server: Server = Server()
    backup: Backup = Backup()
    retention: Retention = Retention()
    clock: ClockCheck = ClockCheck()
    citizen: Citizen = Citizen()
    security: Security = Security()

    @model_validator(mode="after")
    def _references(self) -> HallConfig:
        prefixes = [c.prefix for c in self.categories]
        _unique("categories", "prefix", prefixes)
        known = set(prefixes)
        numbers = [w.number for w in self.windows]
        _unique("windows", "number", numbers)
        for i, w in enumerate(self.windows):
            for c in w.categories:
                if c not in known:
                    raise ValueError(f'windows[{i}].categories: unknown category "{c}" / 未知业务类别 "{c}"')
            if w.primary is not None and w.primary not in w.categories:
                raise ValueError(f'windows[{i}].primary: "{w.primary}" is not in this window\'s categories')
        _unique("staff", "id", [s.id for s in self.staff])
        for i, s in enumerate(self.staff):
            for n in s.windows:
                if n not in numbers:
                    raise ValueError(f"staff[{i}].windows: unknown window {n} / 未知窗口 {n}")
        _unique("devices", "name", [d.name for d in self.devices])
        for i, d in enumerate(self.devices):
            if d.window is not None and d.window not in numbers:
                raise ValueError(f"devices[{i}].window: unknown window {d.window} / 未知窗口 {d.window}")
        _unique("kiosks", "id", [k.id for k in self.kiosks])
        printers = {d.name: d for d in self.devices if d.kind == "printer"}
        for i, k in enumerate(self.kiosks):
            dev = printers.get(k.printer)
            if dev is None:
                raise ValueError(f'kiosks[{i}].printer: "{k.printer}" is not a [[devices]] printer / '
                                 f'没有名为 "{k.printer}" 的打印机设备')
            if not _prints_tickets(dev):
                raise ValueError(f'kiosks[{i}].printer: printer "{k.printer}" has tickets = false / '
                                 f'打印机 "{k.printer}" 设置了不打印号票（tickets = false）')
            if k.idcard is not None and k.idcard not in {d.name for d in self.devices if d.kind == "idcard"}:
                raise ValueError(f'kiosks[{i}].idcard: "{k.idcard}" is not a [[devices]] idcard reader / '
                                 f'没有名为 "{k.idcard}" 的身份证阅读器设备')
        return self

    def kiosk(self, kiosk_id: str) -> Kiosk | None:
        return next((k for k in self.kiosks if k.id == kiosk_id), None)

    def kiosk_large_mode(self, kiosk_id: str | None) -> bool:
        """Whether a kiosk starts (and resets to) 长辈模式: its own setting, else the hall's."""
        k = self.kiosk(kiosk_id) if kiosk_id else None
        return k.large_mode if k is not None and k.large_mode is not None else self.hall.kiosk_large_mode

    def default_ticket_printer(self) -> str | None:
        """Where tickets issued without a kiosk go: the first printer in [[devices]] that prints tickets."""
        return next((d.name for d in self.devices if d.kind == "printer" and _prints_tickets(d)), None)

    def ticket_printer_for(self, kiosk_id: str | None) -> str | None:
        """THE routing rule: a kiosk's tickets and slips go to its own printer, all others to the default."""
        kiosk = self.kiosk(kiosk_id) if kiosk_id else None
        return kiosk.printer if kiosk is not None else self.default_ticket_printer()

    def category(self, prefix: str) -> Category | None:
        return next((c for c in self.categories if c.prefix == prefix), None)

    def window(self, number: int) -> Window | None:
        return next((w for w in self.windows if w.number == number), None)

    def staff_member(self, staff_id: str) -> Staff | None:
        return next((s for s in self.staff if s.id == staff_id), None)


def _unique(section: str, key: str, values: Sequence[object]) -> None:
    seen: set[object] = set()
    for i, v in enumerate(values):
        if v in seen:
            raise ValueError(f'{section}[{i}].{key}: duplicate value "{v}" / 重复的值 "{v}"')
        seen.add(v)

"""Text fault commands, the way every emulator takes them (`kiosk emulate X` stdin, the technician page).

Each emulator keeps its own commands and its own words for what happened;
what they share lives here, so a technician meets one grammar everywhere:
a command word (case-insensitive) and its arguments split on blanks, an
empty line answers the help, `on`/`off` switches read alike, and
`unplug`/`replug` pull and plug the cable of anything that has them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

#: a command's arguments → what happened, in Chinese
Handler = Callable[[list[str]], str]

OFF_WORDS = frozenset({"off", "0", "false", "no"})


def switch(args: Sequence[str]) -> bool:
    """An on/off argument: on unless it says off (`off`, `0`, `false`, `no`); no argument means on."""
    return not args or args[0].lower() not in OFF_WORDS


class Pluggable(Protocol):
    def unplug(self) -> None: ...

    def replug(self) -> None: ...


def cable(device: Pluggable, unplugged: str = "已拔出 / unplugged",
          replugged: str = "已插回 / replugged") -> dict[str, Handler]:
    """The `unplug` and `replug` commands of a device with a cable, answering in its own words."""

    def unplug(_args: list[str]) -> str:
        device.unplug()
        return unplugged

    def replug(_args: list[str]) -> str:
        device.replug()
        return replugged

    return {"unplug": unplug, "replug": replug}


class FaultCommands:
    """One emulator's command table: `commands(text)` runs a line and returns the answer.

    `lower` lowercases the whole line (arguments too) for emulators whose arguments are
    all keywords; an emulator that takes names keeps them as typed. With `whole_rest`,
    a handler gets the rest of the line as one argument, blanks kept (a text to show,
    not words to read). A word not in the
    table goes to `otherwise(word, args)` (default: the help). With `bad_args`, a
    ValueError from a handler (an argument that is not a number) answers that text
    instead of reaching the caller.
    """

    def __init__(self, table: Mapping[str, Handler], help_text: str, *, lower: bool = False,
                 otherwise: Callable[[str, list[str]], str] | None = None, bad_args: str | None = None,
                 whole_rest: bool = False) -> None:
        self.table = dict(table)
        self.whole_rest = whole_rest
        self.help_text = help_text
        self.lower = lower
        self.otherwise = otherwise
        self.bad_args = bad_args

    def __call__(self, command: str) -> str:
        line = command.strip().lower() if self.lower else command.strip()
        words = line.split(maxsplit=1 if self.whole_rest else -1)
        if not words:
            return self.help_text
        head, args = words[0].lower(), words[1:]
        handler = self.table.get(head)
        try:
            if handler is not None:
                return handler(args)
            return self.otherwise(head, args) if self.otherwise is not None else self.help_text
        except ValueError:
            if self.bad_args is None:
                raise
            return self.bad_args


def unknown_word(help_text: str) -> Callable[[str, list[str]], str]:
    """An `otherwise` that names the word it did not know, then the commands there are."""
    return lambda head, _args: f"不认识的命令 {head!r}；可用：{help_text}"


class Paced(Protocol):
    baud: int | None


def baud(device: Paced) -> dict[str, Handler]:
    """`baud N | off`: take incoming bytes at the pace of an N-baud serial line (10 bits a byte)."""

    def run(args: list[str]) -> str:
        arg = args[0] if args else ""
        device.baud = None if arg in ("off", "") else int(arg)
        return f"按 {device.baud} 波特率接收" if device.baud else "不限速"

    return {"baud": run}

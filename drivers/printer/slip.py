"""A text slip (e.g. the 一次性告知单) on the ticket printer, in the ticket's own ESC/POS dialect.

The hall side decides what the slip says, as (style, text) lines; this module
only turns them into bytes with the printer's options (profile, columns, cut)
through the ticket encoder, so Chinese goes out as GB18030 in Chinese mode,
long lines wrap at the paper's width and masking applies like on tickets.
"""

from __future__ import annotations

from collections.abc import Sequence

from hall.drivers.contracts import Redactor
from hall.drivers.printer.ticket import Line, PrintOptions, encode

#: style → how the line prints; "rule" prints a dashed line and ignores its text.
STYLES = {
    "title": {"align": "center", "bold": True, "width": 2, "height": 2},
    "center": {"align": "center", "bold": True},
    "heading": {"align": "left", "bold": True},
    "text": {},
}


def slip_lines(items: Sequence[tuple[str, str]]) -> list[Line]:
    lines: list[Line] = []
    for style, text in items:
        if style == "rule":
            lines.append(Line(kind="rule"))
            continue
        # The encoder formats each line with the fields: braces in free text must stay literal.
        safe = text.replace("{", "{{").replace("}", "}}")
        lines.append(Line(kind="text", text=safe, **STYLES.get(style, {})))  # type: ignore[arg-type]
    lines.append(Line(kind="feed", feed=2))
    return lines


def slip_bytes(items: Sequence[tuple[str, str]], options: PrintOptions, redact: Redactor) -> bytes:
    """The slip's bytes: ESC @, Chinese mode, the lines, a cut (or a feed past the tear bar)."""
    return encode(slip_lines(items), {}, options, redact)

"""Blank forms (空白表格) for printing at the kiosk, rendered from the catalog's form data.

A form is data inside the catalog (title, sections of labelled fields,
declaration, signature lines), so a county update brings its forms along and
the product ships no binary files. It prints as one A4 HTML page with no
external assets; the kiosk's browser prints it.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from importlib import resources
from string import Template

from hall.records.catalog_model import BlankForm, FormField, ServiceItem


@lru_cache(maxsize=1)
def _template() -> Template:
    text = resources.files("hall.records").joinpath("data", "forms", "blank-form.html").read_text("utf-8")
    return Template(text)


def _cell(f: FormField) -> str:
    hint = f'<span class="hint">{escape(f.hint)}</span>' if f.hint else ""
    return f"<th>{escape(f.label)}{hint}</th>"


def _rows(form: BlankForm) -> list[str]:
    rows: list[str] = []
    for section in form.sections:
        if section.heading:
            rows.append(f'<tr class="section"><th colspan="4">{escape(section.heading)}</th></tr>')
        if section.columns:
            head = "".join(f"<th>{escape(c)}</th>" for c in section.columns)
            blank = "<td></td>" * len(section.columns)
            inner = [f"<tr>{head}</tr>", *(f"<tr>{blank}</tr>" for _ in range(section.rows))]
            rows.append(f'<tr><td colspan="4" class="grid"><table>{"".join(inner)}</table></td></tr>')
            continue
        pending: FormField | None = None      # a narrow field waiting for a partner on its row
        for f in section.fields:
            height = f' style="height:{9 * f.lines}mm"' if f.lines > 1 else ""
            if f.wide or f.lines > 1:
                if pending is not None:
                    rows.append(f'<tr>{_cell(pending)}<td colspan="3"></td></tr>')
                    pending = None
                rows.append(f'<tr>{_cell(f)}<td colspan="3"{height}></td></tr>')
            elif pending is None:
                pending = f
            else:
                rows.append(f"<tr>{_cell(pending)}<td></td>{_cell(f)}<td></td></tr>")
                pending = None
        if pending is not None:
            rows.append(f'<tr>{_cell(pending)}<td colspan="3"></td></tr>')
    return rows


def render_form(item: ServiceItem, n: int, *, hall_name: str = "") -> str:
    """Form `n` (1-based) of `item` as a printable HTML page; IndexError if it has no such form."""
    if n < 1 or n > len(item.forms):
        raise IndexError(n)
    form = item.forms[n - 1]
    declaration = (f'<div class="declaration">{escape(form.declaration)}</div>' if form.declaration else "")
    signatures = "".join(f"<div>{escape(s)}：<span></span></div>" for s in form.signatures)
    notes = ("<ol class=\"notes\">" + "".join(f"<li>{escape(x)}</li>" for x in form.notes) + "</ol>"
             if form.notes else "")
    where = f"{hall_name}　" if hall_name else ""
    footer = f"{where}本表免费提供，可在自助终端打印　事项编码 {item.impl_code}"
    return _template().substitute(
        title=escape(form.title), item_name=escape(item.name), rows="\n".join(_rows(form)),
        declaration=declaration, signatures=signatures, notes=notes, footer=escape(footer))

"""The cost of a rule change as one self-contained HTML page, like the sign-off report: inline CSS (the report's,
A4 print), bar charts as inline SVG, no script, no external link, no image file.

Sections: the totals (today, new, difference, rights that gain, lose or stop), a chart and a table per benefit,
per month, per municipality, and every month and benefit. Each is a <section id=...> a test can find. Amounts come
in as integers of minor units (payroll.simulate's result) and are written in the active language's locale
(formats.i18n: --lang, ISPLATA_LANG, else the catalogue country's), the words in that language.
"""
from pathlib import Path

from formats.i18n import _
from payroll.report_html import STYLE, Page, Raw, esc, note, section, table

SECTIONS = ("totals", "by-benefit", "by-month", "by-municipality", "by-month-benefit")
CHART_WIDTH_PX = 680          # fits the report's A4 column (182 mm)
LABEL_WIDTH_PX = 230
VALUE_WIDTH_PX = 110
BAR_HEIGHT_PX = 9
ROW_HEIGHT_PX = 28
CHART_ROWS_MAX = 25           # a longer breakdown charts its rows with the largest amounts
COLOURS = {"base": "#9aa5b1", "new": "#2f6f9f"}
EXTRA_STYLE = (".chart{display:block;width:100%;height:auto;margin:.3rem 0 .6rem} .chart text{font-size:10px}"
               " .cost td,.cost th{font-size:8pt;padding:.12rem .25rem} .cost td:first-child{min-width:28mm}")


def bar_chart(rows: list[tuple[str, int, int]], page: Page, largest_first: bool = True) -> Raw:
    """Inline SVG: per row (label, today, new) two horizontal bars on one scale and the difference written;
    the largest rows first (at most CHART_ROWS_MAX), or in the given order (months)."""
    if largest_first:
        rows = sorted(rows, key=lambda r: -max(abs(r[1]), abs(r[2])))
    rows = rows[:CHART_ROWS_MAX]
    largest = max((max(abs(base), abs(new)) for _, base, new in rows), default=0) or 1
    span = CHART_WIDTH_PX - LABEL_WIDTH_PX - VALUE_WIDTH_PX
    height = 22 + ROW_HEIGHT_PX * len(rows)
    parts = [f"<svg class='chart' role='img' viewBox='0 0 {CHART_WIDTH_PX} "
             f"{height}' width='{CHART_WIDTH_PX}' height='{height}'>",
             legend()]
    said = {"base": _("today"), "new": _("new rules")}
    for i, (label, base, new) in enumerate(rows):
        top = 22 + i * ROW_HEIGHT_PX
        parts.append(f"<text x='{LABEL_WIDTH_PX - 6}' y='{top + BAR_HEIGHT_PX + 3}' text-anchor='end'>"
                     f"{esc(shorten(label))}</text>")
        for j, (key, amount) in enumerate((("base", base), ("new", new))):
            width = round(span * abs(amount) / largest, 1)
            y = top + j * (BAR_HEIGHT_PX + 1)
            parts.append(f"<rect x='{LABEL_WIDTH_PX}' y='{y}' width='{width}' height='{BAR_HEIGHT_PX}' "
                         f"fill='{COLOURS[key]}'><title>{esc(label)}: {esc(page.money(amount))} "
                         f"{esc(page.currency)} ({esc(said[key])})</title></rect>")
        parts.append(f"<text x='{CHART_WIDTH_PX - 2}' y='{top + BAR_HEIGHT_PX + 3}' text-anchor='end'>"
                     f"{esc(signed(page, new - base))}</text>")
    parts.append("</svg>")
    return Raw("".join(parts))


def legend() -> str:
    today, new, difference = esc(_("today's rules")), esc(_("new rules")), esc(_("difference"))
    return (f"<rect x='{LABEL_WIDTH_PX}' y='4' width='10' height='10' fill='{COLOURS['base']}'/>"
            f"<text x='{LABEL_WIDTH_PX + 14}' y='13'>{today}</text>"
            f"<rect x='{LABEL_WIDTH_PX + 110}' y='4' width='10' height='10' fill='{COLOURS['new']}'/>"
            f"<text x='{LABEL_WIDTH_PX + 124}' y='13'>{new}</text>"
            f"<text x='{CHART_WIDTH_PX - 2}' y='13' text-anchor='end'>{difference}</text>")


def shorten(text: str, length: int = 38) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def signed(page: Page, amount: int) -> str:
    return ("+" if amount > 0 else "") + page.money(amount)


def percent(base: int, new: int) -> str:
    return f"{(new - base) * 100 / base:+.1f}\u00a0%" if base else (_("new") if new else "—")


def cost_table(rows: list[dict], key: str, heading: str, page: Page, label=str) -> str:
    """Today, new, difference, % and the counts of rights, one row per entry of `rows`."""
    body = [[label(r[key]), page.money(r["base_minor"]), page.money(r["new_minor"]), signed(page, r["diff_minor"]),
             percent(r["base_minor"], r["new_minor"]),
             *(page.count(r[count]) for count in ("rights", "gain", "lose", "stop"))] for r in rows]
    return table([heading, _("today ({currency})", currency=page.currency),
                  _("new ({currency})", currency=page.currency), _("difference"), "%", _("rights"), _("gain"),
                  _("lose"), _("stop")], body, "cost")


def month_rows(result: dict) -> list[dict]:
    """The per-month totals of the month-and-benefit rows (counts are cells: a right counts once a month)."""
    months = {}
    for r in result["by_month_benefit"]:
        total = months.setdefault(r["month"], {"month": r["month"], "base_minor": 0, "new_minor": 0, "diff_minor": 0,
                                               "rights": 0, "gain": 0, "lose": 0, "stop": 0})
        for key in ("base_minor", "new_minor", "diff_minor", "rights", "gain", "lose", "stop"):
            total[key] += r[key]
    return list(months.values())


def totals_cards(result: dict, page: Page) -> str:
    totals = result["totals"]
    change = percent(totals["base_minor"], totals["new_minor"])
    cards = [(_("today's rules ({currency})", currency=page.currency), page.money(totals["base_minor"])),
             (_("new rules ({currency})", currency=page.currency), page.money(totals["new_minor"])),
             (_("difference ({currency}, {change})", currency=page.currency, change=change),
              signed(page, totals["diff_minor"])),
             (_("rights that gain"), page.count(totals["gain"])), (_("rights that lose"), page.count(totals["lose"])),
             (_("rights that stop"), page.count(totals["stop"]))]
    return "<div class='cards'>" + "".join(f"<div class='card'><b>{esc(value)}</b><span>{esc(text)}</span></div>"
                                           for text, value in cards) + "</div>"


def render_html(result: dict) -> str:
    """The page of one simulation; `result` is what payroll.simulate.simulate returns."""
    page = Page(result)
    benefit = page.benefit
    months = month_rows(result)
    span = result["period"] if result["months"] == 1 else _("{first} to {last}", first=result["period"],
                                                              last=result["last_period"])
    title = _("Cost of a rule change — {span}", span=span)
    parts = [
        f"<!doctype html><html lang='{esc(page.locale.replace('_', '-'))}'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        note(_("{months} month(s) · today's rules {base} (SHA-256 {base_sha}…) · new rules {new} (SHA-256 "
               "{new_sha}…) · amounts due under the rules, before deductions, arrears and the minimum payable; "
               "rights as the register stands", months=result["months"], base=result["base_rules"]["path"],
               base_sha=result["base_rules"]["sha256"][:16], new=result["new_rules"]["path"],
               new_sha=result["new_rules"]["sha256"][:16])),
        section("totals", _("Totals"), totals_cards(result, page)),
        section("by-benefit", _("By benefit (all months)"), bar_chart(
            [(benefit(r["benefit"]), r["base_minor"], r["new_minor"]) for r in result["by_benefit"]], page)
            + cost_table(result["by_benefit"], "benefit", _("benefit"), page, benefit)),
        section("by-month", _("By month"), bar_chart(
            [(m["month"], m["base_minor"], m["new_minor"]) for m in months], page, largest_first=False)
            + note(_("rights: due something that month under either catalogue"))
            + cost_table(months, "month", _("month"), page)),
        section("by-municipality", _("By municipality of the beneficiary (all months)"), bar_chart(
            [(r["municipality"], r["base_minor"], r["new_minor"]) for r in result["by_municipality"]], page)
            + cost_table(result["by_municipality"], "municipality", _("municipality"), page)),
        section("by-month-benefit", _("By month and benefit"), cost_table(
            [{**r, "label": f"{r['month']} · {benefit(r['benefit'])}"} for r in result["by_month_benefit"]],
            "label", _("month · benefit"), page)),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_html(result: dict, path) -> str:
    Path(path).write_text(render_html(result), encoding="utf-8")
    return str(path)

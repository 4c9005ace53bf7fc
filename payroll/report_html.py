"""A payroll report as one self-contained HTML page: inline CSS and SVG bar charts, no script, no network.

The page shows the totals by benefit, municipality and channel, arrears and recoveries, deductions by kind, the
change against the previous month's payroll and the returns by reason. Amounts come in as integers of minor
units and are printed through engine.money, so the page shows exactly the ledger's figures.
"""
import html

from formats.amounts import format_amount

BAR_WIDTH_PX = 420
BAR_HEIGHT_PX = 18
LABEL_WIDTH_PX = 170
VALUE_WIDTH_PX = 130
ROWS_MAX = 25  # longer breakdowns (municipalities) show their largest rows and one "other" row
PALETTE = ("#2f6f9f", "#4f9d69", "#c9843a", "#a34f6f", "#6b5fa8", "#3a8f9a")

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem} .cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;min-width:150px}
.card b{display:block;font-size:1.25rem} .card span{color:#666;font-size:.8rem}
table{border-collapse:collapse;font-size:.9rem} td,th{padding:.2rem .7rem;text-align:right}
td:first-child,th:first-child{text-align:left} tr:nth-child(even){background:#f6f6f6}
svg text{font-size:12px;font-family:inherit} .neg{color:#a33}
"""


def money(amount_minor: int, exponent: int) -> str:
    text = format_amount(int(amount_minor), exponent)
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    grouped = f"{int(digits):,}".replace(",", "\u202f") if digits else "0"
    return sign + grouped + ("." + fraction if fraction else "")


def top_rows(rows: dict[str, int], limit: int = ROWS_MAX) -> list[tuple[str, int]]:
    """Largest rows first (by absolute amount); the rest summed as 'other'."""
    ordered = sorted(rows.items(), key=lambda item: (-abs(item[1]), item[0]))
    if len(ordered) <= limit:
        return ordered
    rest = sum(value for _, value in ordered[limit - 1:])
    return ordered[:limit - 1] + [(f"other ({len(ordered) - limit + 1})", rest)]


def bar_chart(rows: dict[str, int], exponent: int, colour_index: int = 0) -> str:
    """Horizontal bars, one per row, scaled to the largest absolute value; negative bars in red."""
    shown = top_rows(rows)
    if not shown:
        return "<p class='meta'>nothing in this payroll</p>"
    largest = max(abs(value) for _, value in shown) or 1
    height = BAR_HEIGHT_PX + 6
    width = LABEL_WIDTH_PX + BAR_WIDTH_PX + VALUE_WIDTH_PX
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height * len(shown) + 4}' "
             f"role='img'>"]
    for i, (label, value) in enumerate(shown):
        y = i * height + 2
        length = max(1, round(BAR_WIDTH_PX * abs(value) / largest)) if value else 0
        colour = "#b44" if value < 0 else PALETTE[colour_index % len(PALETTE)]
        parts.append(f"<text x='{LABEL_WIDTH_PX - 6}' y='{y + 13}' text-anchor='end'>"
                     f"{html.escape(str(label)[:26])}</text>")
        parts.append(f"<rect x='{LABEL_WIDTH_PX}' y='{y}' width='{length}' height='{BAR_HEIGHT_PX}' "
                     f"fill='{colour}' rx='2'><title>{html.escape(str(label))}: "
                     f"{money(value, exponent)}</title></rect>")
        parts.append(f"<text x='{LABEL_WIDTH_PX + length + 6}' y='{y + 13}'>{money(value, exponent)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def change_rows(current: dict[str, int], previous: dict[str, int], exponent: int) -> list[list[str]]:
    rows = []
    for key in sorted(set(current) | set(previous)):
        now, before = current.get(key, 0), previous.get(key, 0)
        percent = f"{(now - before) * 100 / before:+.1f} %" if before else "new"
        rows.append([key, money(before, exponent), money(now, exponent), money(now - before, exponent), percent])
    return rows


def section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>{body}"


def render_html(report: dict) -> str:
    """The page of one payroll; `report` is what payroll.report.build_report returns."""
    exponent = report["minor_exponent"]
    currency = report["currency"]
    totals = report["totals_minor"]
    cards = [("net paid", report["net_minor"]), ("payments", None), ("due", totals.get("due", 0)),
             ("arrears", totals.get("arrears", 0)), ("recoveries", -totals.get("recovery", 0)),
             ("carried forward", -totals.get("carry_out", 0)), ("re-issued", totals.get("reissue", 0))]
    card_html = "".join(
        f"<div class='card'><b>{report['payments']:,}</b><span>payments</span></div>" if value is None else
        f"<div class='card'><b>{money(value, exponent)}</b><span>{label} ({currency})</span></div>"
        for label, value in cards)
    previous = report.get("previous")
    change = ("<p class='meta'>no earlier payroll to compare with</p>" if previous is None else
              f"<p class='meta'>against {html.escape(previous['payroll'])}</p>" +
              table(["benefit", "previous", "this payroll", "change", "%"],
                    change_rows(report["by_benefit"], previous["by_benefit"], exponent)))
    returns = report.get("returns_by_reason", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Payroll {html.escape(report['payroll'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Payroll {html.escape(report['payroll'])} — {html.escape(report['period'])}</h1>",
        f"<p class='meta'>status {html.escape(report['status'])} · calculated by "
        f"{html.escape(report['created_by'])} at {html.escape(report['created_at'])} · "
        f"{report['rights']:,} rights · catalogue SHA-256 {html.escape(report['catalogue_sha256'][:16])}…</p>",
        f"<div class='cards'>{card_html}</div>",
        section(f"Net paid by benefit ({currency})", bar_chart(report["by_benefit"], exponent, 0)),
        section(f"Net paid by channel ({currency})", bar_chart(report["by_channel"], exponent, 1)),
        section(f"Net paid by municipality ({currency})", bar_chart(report["by_municipality"], exponent, 2)),
        section(f"Arrears and recoveries ({currency})", bar_chart(report["arrears_recoveries"], exponent, 3)),
        section(f"Deductions by kind ({currency})", bar_chart(report["deductions_by_kind"], exponent, 4)),
        section("Change against the previous month", change),
        section(f"Returns and rejects by reason ({currency})",
                bar_chart(returns, exponent, 5) if returns else
                "<p class='meta'>no returns reconciled for this payroll</p>"),
        section("Totals by component", table(["component", f"amount ({currency})"],
                                             [[k, money(v, exponent)] for k, v in sorted(totals.items())])),
        "</body></html>",
    ]
    return "\n".join(parts)

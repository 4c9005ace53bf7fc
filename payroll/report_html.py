"""A payroll's sign-off report as one self-contained HTML page: inline CSS (print CSS for A4), no script, no
external link, no image file.

Sections, in the order a finance director reads them: sign-off facts (who calculated and approved and when, the
ledger digest after the approval batch), totals, recipients and amounts per benefit, per municipality and per
channel, the change against the previous month (rights started, stopped and changed, the largest individual
changes), arrears and recoveries, deductions by kind, holds in force, returns by reason with their meaning, totals
by component and a signature block. Every section is a <section id=...> so a test can find it. Amounts come in as
integers of minor units and are written by formats.labels.money_label in the locale of the active language
(formats.i18n: --lang, ISPLATA_LANG, else the catalogue country's); labels are in that language; codes are shown
with their names.
"""
import html

from formats import labels
from formats.i18n import _

ROWS_MAX = 25  # long breakdowns (municipalities) show their largest rows and one "other" row

SECTIONS = ("sign-off", "totals", "by-benefit", "by-municipality", "by-channel", "change", "largest-changes",
            "arrears-recoveries", "deductions", "holds", "returns", "components", "sources", "signatures")

STYLE = """
@page{size:A4;margin:16mm 14mm}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:1rem;
max-width:182mm;color:#222;font-size:10pt;line-height:1.35}
h1{font-size:15pt;margin:0 0 .2rem} h2{font-size:11.5pt;margin:1.1rem 0 .4rem;border-bottom:1px solid #bbb}
.meta{color:#555;font-size:9pt} .mono{font-family:"DejaVu Sans Mono",monospace;word-break:break-all;font-size:8.5pt}
table{border-collapse:collapse;width:100%;table-layout:auto} td,th{padding:.15rem .35rem;text-align:right;
vertical-align:top;overflow-wrap:break-word} th{font-weight:600;border-bottom:1px solid #999}
.t{text-align:left} tr:nth-child(even) td{background:#f3f3f3}
.facts td{text-align:left} .facts td:first-child{width:34%;color:#555}
.bars td:last-child{width:24%}
.bar{display:block;height:.45rem;background:#2f6f9f;min-width:1px} .bar.neg{background:#b44}
.cards{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0} .card{border:1px solid #ccc;border-radius:4px;
padding:.3rem .6rem;flex:1 1 30%} .card b{display:block;font-size:11pt} .card span{color:#555;font-size:8.5pt}
.wide{font-size:8.5pt} .wide td,.wide th{padding:.15rem .2rem}
.sources{font-size:8pt;table-layout:fixed} .sources td,.sources th{padding:.15rem .2rem;overflow-wrap:anywhere}
.sources th:nth-child(1){width:17%} .sources th:nth-child(2){width:14%} .sources th:nth-child(3){width:10%}
.sources th:nth-child(4){width:12%} .sources th:nth-child(5){width:9%} .sources th:nth-child(6){width:16%}
.neg{color:#a33} .signatures{display:flex;gap:1rem;margin-top:1rem} .signature{flex:1;border-top:1px solid #333;
padding-top:.3rem;margin-top:2.2rem;font-size:9pt}
section{break-inside:auto} h2{break-after:avoid} tr{break-inside:avoid}
@media print{body{padding:0;max-width:none} .signatures{break-inside:avoid}}
"""


class Page:
    """Formatting shared by the sections of one report: its locale, currency and benefit names."""

    def __init__(self, report: dict):
        names = report.get("names", {})
        self.locale = labels.display_locale(report.get("country") or str(report.get("payroll", ""))[:2])
        self.benefits = names.get("benefits", {})
        self.exponent = report["minor_exponent"]
        self.currency = report["currency"]

    def money(self, amount_minor) -> str:
        return labels.money_label(int(amount_minor), self.exponent, None, self.locale)

    def count(self, number) -> str:
        return "—" if number is None else labels.money_label(int(number), 0, None, self.locale)

    def benefit(self, code: str) -> str:
        return labels.benefit_label(code, self.benefits)


def esc(value) -> str:
    return html.escape(str(value))


def table(headers: list[str], rows: list[list], css: str = "", text_columns: int = 1) -> str:
    """Columns after the first `text_columns` hold numbers (right-aligned)."""
    def cell(tag: str, i: int, content: str) -> str:
        return f"<{tag}{' class=t' if i < text_columns else ''}>{content}</{tag}>"

    head = "".join(cell("th", i, esc(h)) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, cell_html(c)) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Raw(str):
    """Markup built here (a bar), put into a cell as it is."""


def cell_html(cell) -> str:
    return cell if isinstance(cell, Raw) else esc(cell)


def bar(value: int, largest: int) -> Raw:
    percent = 0 if not largest else round(100 * abs(value) / largest, 1)
    return Raw(f"<span class='bar{' neg' if value < 0 else ''}' style='width:{percent}%'></span>")


def section(anchor: str, title: str, body: str) -> str:
    return f"<section id='{anchor}'><h2>{esc(title)}</h2>{body}</section>"


def note(text: str) -> str:
    return f"<p class='meta'>{esc(text)}</p>"


def sign_off_facts(report: dict) -> str:
    digest = report.get("ledger_digest_after")
    at = lambda who, when: _("{who} at {when}", who=who, when=when)
    rows = [(_("status"), labels.status_label(report["status"])),
            (_("calculated by"), at(report["created_by"], report["created_at"])),
            (_("approved by"), at(report["approved_by"], report["approved_at"]) if report.get("approved_by")
             else _("not approved yet")),
            (_("exported"), report.get("exported_at") or _("not exported yet")),
            (_("ledger batch"), report.get("batch_id") or _("none yet")),
            (_("ledger digest after the batch"), Raw(f"<span class='mono'>{esc(digest)}</span>") if digest
             else _("none yet (not approved)")),
            (_("ledger digest now"), Raw(f"<span class='mono'>{esc(report.get('ledger_digest_now', ''))}</span>")),
            (_("catalogue SHA-256"), Raw(f"<span class='mono'>{esc(report['catalogue_sha256'])}</span>"))]
    return table(["", ""], [list(row) for row in rows], "facts", text_columns=2)


def totals_cards(report: dict, page: Page) -> str:
    totals = report["totals_minor"]
    in_currency = lambda label: f"{label} ({page.currency})"
    cards = [(in_currency(_("net paid")), page.money(report["net_minor"])),
             (_("payments"), page.count(report["payments"])), (_("rights"), page.count(report["rights"])),
             (in_currency(_("due this month")), page.money(totals.get("due", 0))),
             (in_currency(_("arrears")), page.money(totals.get("arrears", 0))),
             (in_currency(_("recovered")), page.money(-totals.get("recovery", 0)))]
    return "<div class='cards'>" + "".join(
        f"<div class='card'><b>{esc(value)}</b><span>{esc(label)}</span></div>" for label, value in cards) + "</div>"


def benefit_table(report: dict, page: Page) -> str:
    amounts, counts = report["by_benefit"], report.get("recipients_by_benefit", {})
    largest = max((abs(v) for v in amounts.values()), default=0)
    rows = [[page.benefit(code), page.count(counts.get(code, 0)), page.money(amount), bar(amount, largest)]
            for code, amount in sorted(amounts.items(), key=lambda item: (-abs(item[1]), item[0]))]
    rows.append([_("total"), page.count(sum(counts.values())), page.money(sum(amounts.values())), Raw("")])
    return table([_("benefit"), _("recipients"), _("net paid ({currency})", currency=page.currency), ""], rows,
                 "bars")


def municipality_table(report: dict, page: Page) -> str:
    places = report.get("municipalities") or {name: {"recipients": None, "net_minor": amount}
                                              for name, amount in report["by_municipality"].items()}
    if not places:
        return note(_("nothing paid in this payroll"))
    ordered = sorted(places.items(), key=lambda item: (-abs(item[1]["net_minor"]), item[0]))
    if len(ordered) > ROWS_MAX:  # the largest rows and one row for what they leave
        rest = [row for _, row in ordered[ROWS_MAX - 1:]]
        counted = [row["recipients"] for row in rest]
        ordered = ordered[:ROWS_MAX - 1] + [(_("other ({count})", count=len(rest)), {
            "recipients": None if None in counted else sum(counted),
            "net_minor": sum(row["net_minor"] for row in rest)})]
    largest = max(abs(row["net_minor"]) for _, row in ordered)
    rows = [[name, page.count(row["recipients"]), page.money(row["net_minor"]), bar(row["net_minor"], largest)]
            for name, row in ordered]
    text = "" if all(r["recipients"] is not None for r in places.values()) else note(
        _("recipients per municipality need the recorded register files, which are missing or changed"))
    return text + table([_("municipality"), _("recipients"), _("net paid ({currency})", currency=page.currency), ""],
                        rows, "bars")


def channel_table(report: dict, page: Page) -> str:
    amounts = report["by_channel"]
    return table([_("channel"), _("net paid ({currency})", currency=page.currency)],
                 [[labels.channel_label(k), page.money(v)] for k, v in sorted(amounts.items())])


def change_table(report: dict, page: Page) -> str:
    previous = report.get("previous")
    if previous is None:
        return note(_("no earlier payroll to compare with"))
    counts = report.get("rights_change", {}).get("by_benefit", {})
    rows = []
    for code in sorted(set(report["by_benefit"]) | set(previous["by_benefit"])):
        now, before = report["by_benefit"].get(code, 0), previous["by_benefit"].get(code, 0)
        percent = f"{(now - before) * 100 / before:+.1f}\u00a0%" if before else _("new")
        moved = counts.get(code, {})
        rows.append([page.benefit(code), page.money(before), page.money(now), page.money(now - before), percent,
                     *(page.count(moved.get(kind, 0)) for kind in ("started", "stopped", "changed"))])
    headers = [_("benefit"), _("previous"), _("this payroll"), _("change"), "%", _("rights started"), _("stopped"),
               _("changed")]
    return note(_("against {payroll}", payroll=previous["payroll"])) + table(headers, rows, "wide")


def largest_table(report: dict, page: Page) -> str:
    largest = report.get("rights_change", {}).get("largest", [])
    if not largest:
        return note(_("no individual change against the previous month") if report.get("previous")
                    else _("no earlier payroll to compare with"))
    return table([_("right"), _("benefit"), _("previous"), _("this payroll"), _("change")], text_columns=2, rows=
                 [[row["right_id"], page.benefit(row["benefit"]), page.money(row["before_minor"]),
                   page.money(row["now_minor"]), page.money(row["change_minor"])] for row in largest])


def amounts_table(rows: dict, page: Page, label, heading: str) -> str:
    return table([heading, _("amount ({currency})", currency=page.currency)],
                 [[label(k), page.money(v)] for k, v in rows.items()])


def holds_table(report: dict) -> str:
    holds = report.get("holds", [])
    if not holds:
        return note(_("no hold in force when this payroll was calculated"))
    headers = [_("hold"), _("kind"), _("right"), _("payee"), _("reason"), _("payment"), _("placed")]
    return table(headers, text_columns=7, rows=
                 [[h["hold_id"], labels.hold_label(h["kind"]), "—" if h["right_id"] < 0 else h["right_id"],
                   h["payee_id"], labels.reason_label(h["reason_code"]), h["payment_ref"], h["created_at"]]
                  for h in holds])


def returns_table(report: dict, page: Page) -> str:
    returns = report.get("returns_by_reason", {})
    if not returns:
        return note(_("no returns reconciled for this payroll"))
    rows = [[labels.reason_label(code), page.money(amount)] for code, amount in returns.items()]
    rows.append([_("total"), page.money(sum(returns.values()))])
    return table([_("reason"), _("returned or rejected ({currency})", currency=page.currency)], rows)


def source_text(ref: str | None) -> str:
    """A source (or a reason citing one) as text, never a link: the page loads nothing from outside, so a URL is
    shown without its scheme."""
    if not ref:
        return "—"
    return ref.replace("https://", "").replace("http://", "")


def sources_table(report: dict, page: Page) -> str:
    if "sources" not in report:
        return note("this report was built before sources were recorded")
    sources = report["sources"]
    if sources is None:
        return note("the catalogue file of this payroll is gone or changed since it was calculated: its sources "
                    "cannot be shown (the catalogue SHA-256 above names the file it was)")
    rows = [[page.benefit(code) if position == 0 else "", row["parameter"] or "—", row["valid_from"] or "—",
             ", ".join(row["values"]) or "—", row["status"], source_text(row["ref"]),
             source_text(row["reason"]) if row["reason"] else ""]
            for code, found in sources.items() for position, row in enumerate(found)]
    if not rows:
        return note("no benefit paid in this payroll")
    return table(["benefit", "parameter", "in force from", "value", "status", "source", "reason"], rows,
                 "sources", text_columns=7)


def signature_block(report: dict) -> str:
    people = [(_("calculated by"), report["created_by"]), (_("approved by"), report.get("approved_by") or ""),
              (_("finance director"), "")]
    date, signature = esc(_("date")), esc(_("signature"))
    return "<div class='signatures'>" + "".join(
        f"<div class='signature'>{esc(role)}: {esc(name)}<br>{date}: ____________<br>{signature}:</div>"
        for role, name in people) + "</div>"


def render_html(report: dict) -> str:
    """The page of one payroll; `report` is what payroll.report.build_report returns."""
    page = Page(report)
    currency = page.currency
    parts = [
        f"<!doctype html><html lang='{esc(page.locale.replace('_', '-'))}'><head><meta charset='utf-8'>",
        f"<title>{esc(_('Payroll {payroll}', payroll=report['payroll']))}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(_('Payroll {payroll}', payroll=report['payroll']))} — {esc(report['period'])}</h1>",
        note(_("{rights} rights · {payments} payments · net {net}", rights=page.count(report["rights"]),
               payments=page.count(report["payments"]),
               net=labels.money_label(report["net_minor"], page.exponent, currency, page.locale))),
        section("sign-off", _("Sign-off"), sign_off_facts(report)),
        section("totals", _("Totals"), totals_cards(report, page)),
        section("by-benefit", _("Recipients and amounts by benefit"), benefit_table(report, page)),
        section("by-municipality", _("Recipients and amounts by municipality"), municipality_table(report, page)),
        section("by-channel", _("Net paid by channel"), channel_table(report, page)),
        section("change", _("Change against the previous month"), change_table(report, page)),
        section("largest-changes", _("Largest individual changes"), largest_table(report, page)),
        section("arrears-recoveries", _("Arrears and recoveries"),
                amounts_table(report["arrears_recoveries"], page, labels.arrears_label, "")),
        section("deductions", _("Deductions by kind"),
                amounts_table(report["deductions_by_kind"], page, labels.deduction_label, _("kind"))),
        section("holds", _("Holds in force"), holds_table(report)),
        section("returns", _("Returns and rejects by reason"), returns_table(report, page)),
        section("components", _("Totals by component"), amounts_table(
            dict(sorted(report["totals_minor"].items())), page, labels.component_label, _("component"))),
        section("sources", _("Sources of the amounts: catalogue values in force for the period"),
                sources_table(report, page)),
        section("signatures", _("Signatures"), signature_block(report)),
        "</body></html>",
    ]
    return "\n".join(parts)

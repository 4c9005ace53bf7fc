"""The sign-off report of a payroll for each country (me, rs, ua): its figures against the payroll's lines and the
ledger, and its HTML checked in a real headless Chromium at A4 width (renders, every section present and visible,
nothing wider than the page), printed to PDF; no script and no external link in the production page."""
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.compute as pc
import pytest

from formats.catalogue import catalogue_path, load_catalogue
from ledgers.store import Ledger
from payroll import cycle, demo, lifecycle, reconcile, report, session, store
from payroll.report_html import SECTIONS, render_html
from synthetic.next_month import advance_register
from synthetic.register import generate_register

PERIODS = ("2025-11", "2025-12")  # months every catalogue covers
A4_WIDTH_PX = 794  # 210 mm at 96 px per inch


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "no headless chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires it", pytrace=False)
        pytest.skip(message)
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def two_months(work: Path, country: str) -> dict:
    """Month 1 calculated, approved, exported, returned by the bank (camt.054, pain.002, camt.053) and reconciled;
    month 2 from the advanced register calculated and approved."""
    db = f"sqlite:///{work / 'isplata.db'}"
    rules = str(catalogue_path(country))
    catalogue = load_catalogue(rules)
    first, second = work / PERIODS[0], work / PERIODS[1]
    cycle.open_db(db, create=True).close()  # `db init`: only it creates a ledger
    generate_register(first, 160, 5, PERIODS[0], country)
    month1 = cycle.calculate(db, first, PERIODS[0], "ana", rules=rules, store_dir=work / "store")["payroll"]
    cycle.approve(db, month1, "marko")
    cycle.export(db, month1, work / "out")
    files = demo.simulate_bank(db, month1, work / "returns", catalogue, 5)
    reconcile.reconcile(db, files["files"], out_dir=work / "returns")
    extra = cycle.calculate(db, first, PERIODS[0], "ana", rules=rules, store_dir=work / "store")["payroll"]
    lifecycle.cancel(db, extra, "ana", "a supplementary run calculated by mistake")  # never "the previous month"
    advance_register(first, second, 5)
    month2 = cycle.calculate(db, second, PERIODS[1], "ana", rules=rules, store_dir=work / "store")["payroll"]
    cycle.approve(db, month2, "marko")
    return {"db": db, "payrolls": (month1, month2), "catalogue": catalogue}


@pytest.fixture(scope="module", params=["me", "rs", "ua"])
def cycle_of(request, tmp_path_factory) -> dict:
    return two_months(tmp_path_factory.mktemp(f"report-{request.param}"), request.param)


def paid_rights(db: str, payroll: str) -> set:
    lines = store.read_lines(session.payroll_record(db, payroll))
    return set(lines.filter(pc.is_valid(lines.column("payment_ref"))).column("right_id").to_pylist())


def test_figures_agree_with_the_lines_and_the_ledger(cycle_of):
    db, (month1, month2) = cycle_of["db"], cycle_of["payrolls"]
    data = report.build_report(db, month2)
    record = session.payroll_record(db, month2)
    lines = store.read_lines(record)
    paid = lines.filter(pc.is_valid(lines.column("payment_ref")))
    assert sum(data["recipients_by_benefit"].values()) == len(set(paid.column("right_id").to_pylist()))
    assert sum(row["net_minor"] for row in data["municipalities"].values()) == data["net_minor"]
    assert sum(row["recipients"] for row in data["municipalities"].values()) == sum(
        data["recipients_by_benefit"].values())
    with Ledger(db) as ledger:
        assert data["ledger_digest_after"] == ledger.find_batch("approve", month2).hash
    assert data["approved_by"] == "marko" and data["created_by"] == "ana" and data["approved_at"]
    assert data["previous"]["payroll"] == month1 and data["rights_change"]["by_benefit"]
    before, now = paid_rights(db, month1), paid_rights(db, month2)
    started = sum(v["started"] for v in data["rights_change"]["by_benefit"].values())
    stopped = sum(v["stopped"] for v in data["rights_change"]["by_benefit"].values())
    assert started == len(now - before) and stopped == len(before - now)
    largest = [abs(row["change_minor"]) for row in data["rights_change"]["largest"]]
    assert largest == sorted(largest, reverse=True)
    names = cycle_of["catalogue"].benefits
    assert data["names"]["benefits"] == {b.code: b.name for b in names}
    returns = report.build_report(db, month1)["returns_by_reason"]
    assert returns and "MD07" in returns  # the simulated bank always returns one MD07


def page_check_script() -> str:
    """Injected into the test's copy only (the production page carries no script): writes the layout facts into
    the DOM that --dump-dom prints."""
    return ("<script>window.addEventListener('load',()=>{const d=document.documentElement;"
            "const s=[...document.querySelectorAll('section')].map(e=>e.id+':'+e.offsetHeight).join(',');"
            "document.body.setAttribute('data-check',JSON.stringify({scroll:d.scrollWidth,client:d.clientWidth,"
            "sections:s,overflowing:[...document.querySelectorAll('body *')].filter(e=>"
            "e.getBoundingClientRect().right>Math.min(d.clientWidth,document.body.getBoundingClientRect().right)+0.5)"
            ".map(e=>e.tagName+'.'+e.className).slice(0,5)}));"
            "});</script>")


def test_report_renders_in_headless_chromium_at_a4_width(cycle_of, tmp_path):
    db, (month1, month2) = cycle_of["db"], cycle_of["payrolls"]
    for payroll in (month1, month2):
        page = render_html(report.build_report(db, payroll))
        assert "<script" not in page.lower() and not re.search(r"(src|href)\s*=", page, re.I)
        assert "http://" not in page and "https://" not in page
        checked = tmp_path / f"{payroll}-checked.html"
        checked.write_text(page.replace("</body>", page_check_script() + "</body>"), encoding="utf-8")
        done = run_chromium(tmp_path, f"--window-size={A4_WIDTH_PX},1123", "--virtual-time-budget=5000",
                            "--dump-dom", checked.as_uri())
        assert done.returncode == 0, done.stderr[-2000:]
        found = re.search(r'data-check="([^"]*)"', done.stdout)
        assert found, done.stdout[:2000]
        facts = json.loads(found.group(1).replace("&quot;", '"'))
        assert facts["scroll"] <= facts["client"] and not facts["overflowing"], facts
        heights = dict(item.split(":") for item in facts["sections"].split(","))
        assert list(heights) == list(SECTIONS) and all(int(h) > 0 for h in heights.values()), heights
    shot = tmp_path / "page.png"
    done = run_chromium(tmp_path, f"--window-size={A4_WIDTH_PX},1123", f"--screenshot={shot}",
                        (tmp_path / f"{month2}-checked.html").as_uri())
    assert done.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_names_reasons_and_benefits(cycle_of):
    db, (month1, _) = cycle_of["db"], cycle_of["payrolls"]
    data = report.build_report(db, month1)
    page = render_html(data)
    assert "MD07 — recipient deceased" in page
    names = {b.code: b.name for b in cycle_of["catalogue"].benefits}
    for code in data["by_benefit"]:
        assert html.escape(f"{names[code]} ({code})") in page
    # the Sources section: per benefit paid, every parameter value in force for the period with source and status
    catalogue = cycle_of["catalogue"]
    assert set(data["sources"]) == set(data["by_benefit"])
    month = report.month_first_date(report.parse_period(data["period"]))
    for code, rows in data["sources"].items():
        assert {row["parameter"] for row in rows} == {
            name for name in catalogue.benefit(code).parameters if catalogue.benefit(code).value_on(name, month)}
        for row in rows:
            ref, _title, status, _reason = catalogue.provenance(code, row["parameter"], month)
            assert (row["ref"], row["status"]) == (ref or None, status)
    section = page[page.index("<section id='sources'>"):]
    section = section[:section.index("</section>")]
    from payroll.report_html import source_text
    shown = [(source_text(row["ref"]), row["status"]) for rows in data["sources"].values() for row in rows]
    assert shown and all(html.escape(ref) in section and f">{status}<" in section for ref, status in shown)
    assert "http" not in section   # sources are text, never links: the page loads nothing from outside


def test_pdf_is_written_by_chromium_and_refused_without_a_converter(cycle_of, tmp_path, monkeypatch):
    chromium()
    db, (month1, _) = cycle_of["db"], cycle_of["payrolls"]
    data = report.build_report(db, month1)
    used = report.write_pdf(data, tmp_path / "report.pdf")
    assert "chrom" in Path(used).name and (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(report.Refused, match="headless Chromium"):
        report.write_pdf(data, tmp_path / "none.pdf")
    assert not (tmp_path / "none.pdf").exists()


def test_page_of_a_minimal_report_is_self_contained_and_exact():
    """A report with only the older keys (a payroll reported before the sign-off facts existed) still renders;
    amounts are the exact minor units in the locale's writing (the active language's: English in tests); more
    than 25 municipalities fold into 'other'."""
    data = {"payroll": "ME-202501-01", "period": "2025-01", "status": "approved", "currency": "EUR",
            "minor_exponent": 2, "created_by": "ana", "created_at": "now", "catalogue_sha256": "ab" * 32,
            "rights": 3, "payments": 2, "net_minor": 9_700, "totals_minor": {"due": 5_050},
            "by_benefit": {"ME_MO": 9_000}, "by_channel": {"bank": 7_000},
            "by_municipality": {f"m{i:02d}": i * 100 for i in range(40)},
            "arrears_recoveries": {"arrears paid": 4_000}, "deductions_by_kind": {"alimony": 2_000},
            "previous": {"payroll": "ME-202412-01", "by_benefit": {"ME_MO": 8_000}},
            "returns_by_reason": {"AC04": 700, "XX99": 5}, "names": {"locale": "sr_Latn_ME",
                                                                  "benefits": {"ME_MO": "Materijalno obezbjeđenje"}}}
    page = render_html(data)
    assert "<script" not in page and "http" not in page and page.count("<section id=") == len(SECTIONS)
    assert "+12.5\u00a0%" in page and "Materijalno obezbjeđenje (ME_MO)" in page
    assert "AC04 — account closed" in page and "XX99 — code not in the ISO list" in page
    assert "other (16)" in page and "net €97.00" in page and ">90.00<" in page


def test_municipality_counts_only_from_the_recorded_register(cycle_of):
    db, (_, month2) = cycle_of["db"], cycle_of["payrolls"]
    record = session.payroll_record(db, month2)
    persons = next(p for p in Path(record.data_folder).iterdir() if p.name.startswith("persons"))
    original = persons.read_bytes()
    try:
        persons.write_bytes(original + b"\0")  # no longer the register the payroll was calculated from
        data = report.build_report(db, month2)
        assert all(row["recipients"] is None for row in data["municipalities"].values())
        assert sum(row["net_minor"] for row in data["municipalities"].values()) == data["net_minor"]
        assert "need the recorded register files" in render_html(data)
    finally:
        persons.write_bytes(original)
    assert all(row["recipients"] is not None for row in report.build_report(db, month2)["municipalities"].values())

"""Exporting again writes the files the bank has: a catalogue whose payment settings or benefit names changed
since the first export (another debtor name, account or payment day) would give the bank other files under the
same MsgIds and EndToEndIds, so it is refused (exit 2, no folder made) until restored; a change the files do not
read (a note, a new dated value) exports the same files."""
import re
import shutil
from pathlib import Path

from acceptance.test_contracts import PAYROLL, Cli, write_register

RULES = Path(__file__).resolve().parents[2] / "rules" / "montenegro.toml"


def test_export_refuses_a_catalogue_changed_since_calculation(tmp_path):
    cli = Cli(tmp_path / "isplata.db")
    reg = write_register(tmp_path / "reg")
    rules = tmp_path / "me.toml"
    shutil.copyfile(RULES, rules)
    cli("db", "init")
    cli.json("calculate", "--data", reg, "--period", "2024-09", "--by", "ana", "--rules", rules)
    cli.json("approve", PAYROLL, "--by", "marko")
    first = cli.json("export", PAYROLL, "--out", tmp_path / "out1")
    original = rules.read_text(encoding="utf-8")
    changed = re.sub(r'(?m)^agency_name = .*$', 'agency_name = "Ministarstvo finansija"', original, count=1)
    assert changed != original
    rules.write_text(changed, encoding="utf-8")
    refused = cli("export", PAYROLL, "--out", tmp_path / "out2", code=2)
    assert "ME-202409-01's files say" in refused.output and not (tmp_path / "out2").exists()
    rules.write_text(original + "\n# a comment the files never read\n", encoding="utf-8")
    again = cli.json("export", PAYROLL, "--out", tmp_path / "out2")
    assert [f["sha256"] for f in again["files"]] == [f["sha256"] for f in first["files"]]

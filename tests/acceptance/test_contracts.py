"""Acceptance tests: the contracts of DESIGN.md ("Command line", "What scripts and auditors can rely on", "Inputs",
"Files and returns", "Ledger") checked through the CLI on a small hand-made register, as an outsider would.

Expected amounts are computed by hand from RULES.md and the Montenegro catalogue for period 2024-09: ME_MO for a
household of 5 (base 170.82) minus income 100.00 = 70.82; ME_DD with mo_family 44.00 x 2 children under 18;
ME_LI grade 2 = 192.44 with alimony 50.00, damages 10 % = 19.24, recovery 30.00 (outstanding), enforcement up to
the 70 % total cap (floor) = 35.46; ME_DNJP 89.16 (death on 2024-09-10: September still due); ME_MAT from
2024-09-16 prorated by days 107.82 x 15 / 30 = 53.91.
"""
import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from lxml import etree

from cli.main import main

XSD = Path(__file__).resolve().parents[2] / "bank_exports" / "xsd" / "pain.001.001.09.xsd"
PAYROLL = "ME-202409-01"

REGISTER = {
    "persons.csv": """person_id,birth_date,death_date,family_name,given_name,patronymic,tax_id,municipality,disabled,without_parental_care
1,1985-03-10,,Đurović,Ana,,1003985215001,Podgorica,false,false
2,1983-01-01,,Đurović,Marko,,0101983215002,Podgorica,true,false
3,2010-05-20,,Đurović,Luka,,,Podgorica,false,false
4,2006-10-20,,Đurović,Mila,,,Podgorica,false,false
5,2006-08-03,,Đurović,Nina,,,Podgorica,false,false
6,1940-02-02,2024-09-10,Šćepanović,Žarko,,,Nikšić,true,false
7,1945-04-04,,Вуковић,Јован,,,Bar,true,false
""",
    "households.csv": """household_id,person_id,role,member_from,member_to
100,1,head,2000-01-01,
100,2,adult,2000-01-01,
100,3,child,2010-05-20,
100,4,child,2006-10-20,
100,5,child,2006-08-03,
""",
    "rights.csv": """right_id,version,benefit,person_id,household_id,payee_id,valid_from,valid_to,decided_on,income_minor,grade,birth_order,mo_family,single_parent,unable_to_work,consent_full_recovery,amount_minor
1,1,ME_MO,1,100,1,2024-07-01,,2024-07-05,10000,,,,,,,
2,1,ME_DD,1,100,2,2024-09-01,,2024-09-05,,,,true,,,,
3,1,ME_LI,2,,3,2024-09-01,,2024-09-02,,2,,,,,,
4,1,ME_DNJP,6,,4,2024-09-01,,2024-09-02,,,,,,,,
5,1,ME_DNJP,7,,5,2024-09-01,,2024-09-02,,,,,,,,
6,1,ME_MAT,1,,1,2024-09-16,,2024-09-20,,,,,,,,
""",
    "payees.csv": """payee_id,channel,kind,name,iban,bic,street,house_number,postcode,town,district,region,country,tax_id,phone
1,bank,person,Ana Đurović,ME25907000000001111158,,,,,,,,ME,,
2,post,person,Ana Đurović,,,Njegoševa,12,81000,Podgorica,Centar,Podgorica,ME,1003985215001,+38267000000
3,bank,person,Marko Đurović,ME25907000000002222293,,,,,,,,ME,,
4,bank,person,Žarko Šćepanović,ME25907000000003333331,,,,,,,,ME,,
5,bank,person,Јован Вуковић,ME25907000000004444466,,,,,,,,ME,,
10,bank,creditor,Jelena Petrović,ME25907000000005555504,,,,,,,,ME,,
11,bank,creditor,Osiguranje AD,ME25907000000006666639,,,,,,,,ME,,
12,bank,creditor,Javni izvršitelj,ME25907000000007777774,,,,,,,,ME,,
""",
    "deductions.csv": """order_id,right_id,kind,priority,fixed_minor,percent_bp,outstanding_minor,creditor_payee_id,valid_from,valid_to
1,3,alimony,1,5000,,,10,2024-09-01,
2,3,damages,2,,1000,,11,2024-09-01,
3,3,overpayment,3,10000,,3000,,2024-09-01,
4,3,enforcement,4,,2000,,12,2024-09-01,
""",
}

LINE_COLUMNS = ["payroll", "right_id", "benefit", "payee_id", "channel", "month", "component", "amount_minor",
                "payment_ref"]
DESIGN_COMPONENTS = {"due", "arrears", "recovery", "alimony", "damages", "enforcement", "forwarded", "carry_in",
                     "carry_out", "reissue"}

CAMT054_V08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>{msg}</MsgId><CreDtTm>2024-10-20T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><CreDtTm>2024-10-20T10:00:00</CreDtTm><Acct><Id><IBAN>ME25907000000000045322</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2024-10-20</Dt></BookgDt><ValDt><Dt>2024-10-20</Dt></ValDt>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>{ref}</EndToEndId></Refs><Amt Ccy="EUR">{amount}</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
"""
PAIN002_AM10 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="http://www.six-interbank-clearing.com/de/pain.002.001.03.ch.02.xsd"><CstmrPmtStsRpt>
<GrpHdr><MsgId>STS1</MsgId><CreDtTm>2024-10-16T14:40:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>{msg}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>RJCT</GrpSts>
<StsRsnInf><Rsn><Cd>AM10</Cd></Rsn><AddtlInf>ControlSum fehlerhaft</AddtlInf></StsRsnInf></OrgnlGrpInfAndSts>
</CstmrPmtStsRpt></Document>
"""
CAMT053_DEBIT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>STMT1</MsgId><CreDtTm>2024-10-15T23:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2024-10-15T23:00:00</CreDtTm><Acct><Id><IBAN>ME25907000000000045322</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2024-10-15</Dt></BookgDt><ValDt><Dt>2024-10-15</Dt></ValDt>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><Btch><MsgId>{msg}</MsgId><NbOfTxs>{n}</NbOfTxs><TtlAmt Ccy="EUR">{amount}</TtlAmt>
<CdtDbtInd>DBIT</CdtDbtInd></Btch></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>
"""
BOMB = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr>
<MsgId>&b;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>
"""


def write_register(folder: Path, replace: tuple[str, str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in REGISTER.items():
        if replace and replace[0] == name:
            assert replace[1] in text
            text = text.replace(replace[1], replace[2], 1)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


class Cli:
    def __init__(self, db: Path):
        self.url = f"sqlite:///{db}"
        self.runner = CliRunner()

    def __call__(self, *args, code=0):
        result = self.runner.invoke(main, ["--db", self.url, *map(str, args)], catch_exceptions=False)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    def json(self, *args, code=0):
        return json.loads(self(*args, "--json", code=code).stdout)


def db_rows(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def export_september(root):
    """The hand-made register's September payroll calculated (ana), approved (marko), its lines written to
    lines.parquet and exported to out/: (cli, register folder, export --json)."""
    cli = Cli(root / "isplata.db")
    reg = write_register(root / "reg")
    cli("db", "init")
    cli.json("calculate", "--data", reg, "--period", "2024-09", "--by", "ana")
    cli.json("approve", PAYROLL, "--by", "marko")
    cli("payroll", "lines", PAYROLL, "--out", root / "lines.parquet")
    return cli, reg, cli.json("export", PAYROLL, "--out", root / "out")


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """One calculated, approved and exported payroll of the hand-made register."""
    root = tmp_path_factory.mktemp("acceptance")
    cli = Cli(root / "isplata.db")
    reg = write_register(root / "reg")
    cli("db", "init")
    calc = cli.json("calculate", "--data", reg, "--period", "2024-09", "--by", "ana")
    cli("export", PAYROLL, "--out", root / "early", code=2)  # a draft cannot be exported
    cli("approve", PAYROLL, "--by", "ana", code=2)           # maker-checker
    approved = cli.json("approve", PAYROLL, "--by", "marko")
    again = cli("approve", PAYROLL, "--by", "marko", code=2).output  # already approved: refused, by whom
    cli("payroll", "lines", PAYROLL, "--out", root / "lines.parquet")
    manifest = cli.json("export", PAYROLL, "--out", root / "out")
    return dict(root=root, cli=cli, reg=reg, calc=calc, approved=approved, again=again, manifest=manifest,
                lines=pq.read_table(root / "lines.parquet"))


def test_calculate_json_keys_and_hand_computed_totals(cycle):
    calc = cycle["calc"]
    assert {"payroll", "period", "currency", "rights", "payments", "net_minor", "totals_minor"} <= set(calc)
    assert (calc["payroll"], calc["period"], calc["currency"], calc["rights"]) == (PAYROLL, "2024-09", "EUR", 6)
    totals = calc["totals_minor"]
    assert totals["due"] == 7082 + 8800 + 19244 + 8916 + 8916 + 5391
    assert (totals["alimony"], totals["damages"], totals["recovery"], totals["enforcement"]) == \
        (-5000, -1924, -3000, -3546)
    assert totals["forwarded"] == 5000 + 1924 + 3546
    assert calc["payments"] == 8  # Ana bank, Ana post, Marko, two DNJP, three creditors


def test_no_double_arrears_nor_missed_arrears_for_dd_decided_in_period(cycle):
    # ME_DD decided 2024-09-05 from 2024-09-01: September only, 2 children (Nina turned 18 in August)
    rows = [r for r in cycle["lines"].to_pylist() if r["right_id"] == 2]
    assert [(r["component"], r["amount_minor"]) for r in rows] == [("due", 8800)]


def test_payroll_lines_have_exactly_the_design_columns_and_nets(cycle):
    lines = cycle["lines"]
    assert lines.schema.names == LINE_COLUMNS
    rows = lines.to_pylist()
    assert {r["component"] for r in rows} <= DESIGN_COMPONENTS
    assert all(r["payroll"] == PAYROLL and r["payment_ref"] for r in rows)
    net = {}
    for r in rows:
        net[r["payment_ref"]] = net.get(r["payment_ref"], 0) + r["amount_minor"]
    assert sum(net.values()) == cycle["calc"]["net_minor"]
    assert net["ME-202409-01-0000003"] == 19244 - 5000 - 1924 - 3000 - 3546  # Marko's net
    assert net["ME-202409-01-0000001"] == 7082 + 5391                      # MO + prorated MAT, one payment


def test_approve_is_maker_checker_and_idempotent(cycle):
    assert cycle["approved"]["status"] == "approved" and cycle["approved"]["postings"] > 0
    assert "already approved by marko at " in cycle["again"]


def test_manifest_keys_ctrl_sum_and_xsd(cycle):
    manifest = cycle["manifest"]
    assert {"payroll", "files", "payments", "ctrl_sum_minor"} <= set(manifest)
    on_disk = json.loads((cycle["root"] / "out" / "manifest.json").read_text())
    assert {k: on_disk[k] for k in ("payroll", "payments", "ctrl_sum_minor")} == \
        {k: manifest[k] for k in ("payroll", "payments", "ctrl_sum_minor")}
    assert manifest["ctrl_sum_minor"] == cycle["calc"]["net_minor"] and manifest["payments"] == 8
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    xml_total = 0
    for entry in manifest["files"]:
        assert {"name", "sha256", "msg_id", "channel", "currency", "nb_of_txs", "ctrl_sum_minor"} <= set(entry)
        if not entry["name"].endswith(".xml"):
            continue
        doc = etree.parse(str(cycle["root"] / "out" / entry["name"]))
        assert schema.validate(doc), schema.error_log
        ns = {"p": doc.getroot().nsmap[None]}
        amounts = [round(float(a.text) * 100) for a in doc.iterfind(".//p:InstdAmt", ns)]
        assert sum(amounts) == entry["ctrl_sum_minor"] == round(float(doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns)) * 100)
        assert len(amounts) == entry["nb_of_txs"]
        xml_total += entry["ctrl_sum_minor"]
    assert xml_total == manifest["ctrl_sum_minor"]
    balances = cycle["cli"].json("ledger", "balance")["balances"]
    in_transit = -sum(b["balance_minor"] for b in balances if b["account"].startswith("in_transit"))
    assert in_transit == manifest["ctrl_sum_minor"]


def test_export_again_is_byte_identical(cycle):
    cli, root = cycle["cli"], cycle["root"]
    before = cli.json("ledger", "verify")["postings"]
    cli.json("export", PAYROLL, "--out", root / "again")
    for entry in cycle["manifest"]["files"]:
        assert (root / "again" / entry["name"]).read_bytes() == (root / "out" / entry["name"]).read_bytes()
    assert cli.json("ledger", "verify")["postings"] == before


def test_supplementary_run_pays_nothing(cycle):
    supp = cycle["cli"].json("calculate", "--data", cycle["reg"], "--period", "2024-09", "--by", "ana")
    assert supp["payroll"] == "ME-202409-02"
    assert supp["net_minor"] == 0 and supp["payments"] == 0


BAD = {
    "wrong type": ("rights.csv", ",2,,,,,,\n4,1", ",two,,,,,,\n4,1", "grade"),
    "negative amount": ("rights.csv", "2024-07-05,10000", "2024-07-05,-10000", "income_minor"),
    "unknown benefit": ("rights.csv", "4,1,ME_DNJP", "4,1,ME_XYZ", "benefit"),
    "invalid IBAN": ("payees.csv", "ME25907000000002222293", "ME25907000000002222294", "iban"),
    "invalid BIC": ("payees.csv", "ME25907000000002222293,,", "ME25907000000002222293,CBCGXXPG,", "bic"),
    "overlap": ("rights.csv", "6,1,ME_MAT,1,,1,2024-09-16,,2024-09-20,,,,,,,,\n",
                "6,1,ME_MAT,1,,1,2024-09-16,,2024-09-20,,,,,,,,\n6,2,ME_MAT,1,,1,2024-09-20,,2024-09-25,,,,,,,,\n",
                "valid_from"),
    "dangling payee": ("rights.csv", "5,1,ME_DNJP,7,,5,", "5,1,ME_DNJP,7,,55,", "payee_id"),
    "dangling creditor": ("deductions.csv", ",,,10,2024-09-01", ",,,1010,2024-09-01", "creditor_payee_id"),
    "bank without IBAN": ("payees.csv", "Marko Đurović,ME25907000000002222293,", "Marko Đurović,,", "channel"),
    "valid_to before valid_from": ("rights.csv", "2024-09-16,,", "2024-09-16,2024-09-01,", "valid_to"),
    "bad date": ("persons.csv", "3,2010-05-20,", "3,2010-02-30,", "birth_date"),
    "name the files cannot carry": ("payees.csv", "3,bank,person,Marko Đurović,", "3,bank,person,Μάρκος 😀,", "name"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exit_2_names_file_row_column_and_writes_nothing(tmp_path, case):
    file, old, new, column = BAD[case]
    reg = write_register(tmp_path / "reg", (file, old, new))
    cli = Cli(tmp_path / "isplata.db")
    cli("db", "init")
    before = db_rows(tmp_path / "isplata.db")
    out = cli("calculate", "--data", reg, "--period", "2024-09", "--by", "ana", code=2).output
    assert file in out and "row" in out and f"column {column}" in out and "Fix:" in out
    problems = cli.json("validate", "--data", reg, code=2)["problems"]
    assert any(p["file"] == file and p["column"] == column and p["row"] and p["rule"] and p["fix"]
               for p in problems)
    assert db_rows(tmp_path / "isplata.db") == before
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm", "-journal")))
    assert written == ["isplata.db", "reg"]


def test_usage_errors_exit_2(cycle):
    cli = cycle["cli"]
    cli("approve", "ME-209901-01", "--by", "marko", code=2)
    cli("payroll", "show", "NOPE", code=2)
    cli("calculate", "--data", cycle["reg"], "--period", "2024-13", "--by", "ana", code=2)


@pytest.fixture()
def returns_db(cycle, tmp_path):
    """A copy of the exported cycle's database, so return tests do not disturb each other."""
    db = tmp_path / "isplata.db"
    db.write_bytes((cycle["root"] / "isplata.db").read_bytes())
    return Cli(db), tmp_path


def test_reconcile_keys_amounts_and_idempotency(returns_db):
    cli, folder = returns_db
    (folder / "camt054.xml").write_text(CAMT054_V08.format(msg="BANK-R1", amount="57.74",
                                                           ref="ME-202409-01-0000003", reason="AC04"))
    (folder / "pain002.xml").write_text(PAIN002_AM10.format(msg="ME-202409-01-P001"))
    keys = {"records", "matched", "unmatched", "already_seen", "rejected_minor", "returned_minor", "settled_minor"}
    first = cli.json("reconcile", folder / "camt054.xml", folder / "pain002.xml")
    assert keys <= set(first)
    assert (first["matched"], first["returned_minor"], first["rejected_minor"]) == (2, 5774, 8800)
    postings = cli.json("ledger", "verify")["postings"]
    second = cli.json("reconcile", folder / "camt054.xml", folder / "pain002.xml")
    assert (second["matched"], second["already_seen"]) == (0, 2)
    assert cli.json("ledger", "verify")["postings"] == postings


def test_camt053_batch_debit_settles(returns_db, cycle):
    cli, folder = returns_db
    bank = next(f for f in cycle["manifest"]["files"] if f["channel"] == "bank" and f["msg_id"])
    amount = f"{bank['ctrl_sum_minor'] // 100}.{bank['ctrl_sum_minor'] % 100:02d}"
    (folder / "camt053.xml").write_text(CAMT053_DEBIT.format(msg=bank["msg_id"], amount=amount, n=bank["nb_of_txs"]))
    assert cli.json("reconcile", folder / "camt053.xml")["settled_minor"] == bank["ctrl_sum_minor"]


def test_unknown_reference_exit_1_and_hostile_xml_exit_2(returns_db):
    cli, folder = returns_db
    (folder / "unknown.xml").write_text(CAMT054_V08.format(msg="BANK-U", amount="10.00",
                                                           ref="ME-202409-01-0009999", reason="AC01"))
    assert cli.json("reconcile", folder / "unknown.xml", code=1)["unmatched"] == 1
    (folder / "bomb.xml").write_text(BOMB)
    before = cli.json("ledger", "verify")["postings"]
    out = cli("reconcile", folder / "bomb.xml", code=2).output
    assert "bomb.xml" in out and "DOCTYPE" in out
    assert cli.json("ledger", "verify")["postings"] == before


def test_ledger_verify_detects_edited_amount_and_proofs(returns_db):
    cli, folder = returns_db
    verify = cli.json("ledger", "verify")
    assert {"ok", "batches", "postings", "digest", "first_bad_batch"} <= set(verify) and verify["ok"]
    digest = verify["digest"]
    cli("ledger", "prove", "ME-202409-01-0000003", "--out", folder / "proof.json")
    assert cli.json("ledger", "check-proof", folder / "proof.json", "--digest", digest)["ok"]
    proof = json.loads((folder / "proof.json").read_text())
    proof["payment"]["amount_minor"] += 100
    (folder / "forged.json").write_text(json.dumps(proof))
    cli("ledger", "check-proof", folder / "forged.json", "--digest", digest, code=1)
    with sqlite3.connect(folder / "isplata.db") as con:
        with pytest.raises(sqlite3.DatabaseError):
            con.execute("update ledger_postings set amount_minor = amount_minor + 1 where posting_id = 1")
        con.execute("drop trigger ledger_postings_no_update")
        con.execute("update ledger_postings set amount_minor = amount_minor + 1 where posting_id = 1")
    bad = cli.json("ledger", "verify", code=1)
    assert bad["ok"] is False and bad["first_bad_batch"] == 1

"""A hold leaves a right unpaid and carried (README, `hold place`); once lifted, the next calculation pays what it
held back as arrears (payroll/compute.py released_hold_starts), once: a supplementary run pays nothing more. On the
hand-made register, through the command line."""
import pyarrow.parquet as pq

from acceptance.test_contracts import Cli, write_register


def lines(cli: Cli, payroll: str, folder) -> list[dict]:
    out = folder / f"{payroll}.parquet"
    cli("payroll", "lines", payroll, "--out", out)
    return pq.read_table(out).to_pylist()


def paid(rows, right: int) -> dict:
    """{(month, component): amount} of the right's lines that go on a payment."""
    return {(row["month"].strftime("%Y-%m"), row["component"]): row["amount_minor"] for row in rows
            if row["right_id"] == right and row["payment_ref"] and row["component"] in ("due", "arrears")}


def test_the_months_a_lifted_hold_left_unpaid_are_paid_as_arrears(tmp_path):
    cli = Cli(tmp_path / "isplata.db")
    reg = write_register(tmp_path / "reg")
    cli("db", "init")
    hold = cli.json("hold", "place", "--right", 1, "--by", "ana", "--reason", "check the household income")
    september = cli.json("calculate", "--data", reg, "--period", "2024-09", "--by", "ana")["payroll"]
    assert paid(lines(cli, september, tmp_path), 1) == {}
    cli.json("approve", september, "--by", "marko")
    cli.json("hold", "release", hold["hold_id"], "--by", "marko", "--note", "decision confirmed")
    october = cli.json("calculate", "--data", reg, "--period", "2024-10", "--by", "ana")["payroll"]
    got = paid(lines(cli, october, tmp_path), 1)
    assert set(got) == {("2024-09", "arrears"), ("2024-10", "due")}
    assert got[("2024-09", "arrears")] == got[("2024-10", "due")] > 0  # ME_MO, the same household both months
    cli.json("approve", october, "--by", "marko")
    again = cli.json("calculate", "--data", reg, "--period", "2024-10", "--by", "ana")["payroll"]
    assert paid(lines(cli, again, tmp_path), 1) == {}  # paid once
    cli("ledger", "verify")

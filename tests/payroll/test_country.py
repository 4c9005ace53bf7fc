"""payroll.country: the catalogue follows the register; a ledger is bound to one country and currency."""
import json

import pytest
import sqlalchemy as sa

from formats.errors import InputError
from ledgers.store import Ledger
from payroll import country as countries
from payroll import store
from payroll.errors import Refused
from payroll.register import validate_register
from synthetic.register import generate_register


@pytest.fixture(scope="module")
def registers(tmp_path_factory):
    base = tmp_path_factory.mktemp("registers")
    for code in ("rs", "ua"):
        generate_register(base / code, rights=300, seed=5, period="2025-01", country=code)
    return base


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("pg_schema_url")
    ledger = Ledger(url)
    ledger.init()
    store.init_schema(ledger.engine)
    yield ledger.engine
    ledger.close()


def test_the_generator_records_the_registers_country(registers):
    meta = json.loads((registers / "ua" / "register.json").read_text())
    assert (meta["country"], meta["currency"], meta["period"]) == ("ua", "UAH", "2025-01")


def test_the_catalogue_follows_the_register_and_the_options_override(registers, tmp_path):
    assert countries.catalogue_for(registers / "rs").country == "rs"
    assert countries.catalogue_for(registers / "ua").currency == "UAH"
    assert countries.catalogue_for(registers / "ua", country="ua").country == "ua"
    assert validate_register(registers / "rs")["country"] == "rs"       # validate needs no --rules either
    (tmp_path / "plain").mkdir()                                         # a snapshot without register.json
    assert countries.catalogue_for(tmp_path / "plain").country == "me"
    assert countries.catalogue_for(tmp_path / "plain", country="ua").country == "ua"


def test_a_catalogue_of_another_country_than_the_register_is_refused(registers):
    with pytest.raises(InputError) as caught:
        countries.catalogue_for(registers / "rs", country="ua")
    problem = caught.value.problems[0]
    assert problem.file.endswith("register.json") and problem.value == "rs"
    assert "UA catalogue" in problem.rule and "drop --country" in problem.fix


def test_a_malformed_register_json_is_bad_input(tmp_path):
    (tmp_path / "register.json").write_text('{"country": "xx"}')
    with pytest.raises(InputError, match="unknown country of the register"):
        countries.catalogue_for(tmp_path)
    (tmp_path / "register.json").write_text("{not json")
    with pytest.raises(InputError, match="not a JSON document"):
        countries.catalogue_for(tmp_path)


def test_db_init_binds_the_ledger_and_another_country_is_refused(engine, registers):
    assert countries.current(engine) is None
    bound = countries.bind_at_init(engine, "rs")
    assert (bound.country, bound.currency, bound.bound_by) == ("rs", "RSD", "db init")
    assert countries.bind_at_init(engine, "rs") == bound                  # init again: the same, no error
    with pytest.raises(Refused, match="belongs to RS \\(RSD\\), fixed by db init"):
        countries.bind_at_init(engine, "ua")
    ua = countries.catalogue_for(registers / "ua")
    with pytest.raises(Refused, match="the register .* holds UA"):
        countries.check_ledger(engine, ua, registers / "ua")
    with pytest.raises(Refused, match="ukraine.toml is for UA \\(UAH\\)"):
        countries.check_ledger(engine, ua)
    assert countries.check_ledger(engine, countries.catalogue_for(registers / "rs"), registers / "rs") == bound


def test_the_first_payroll_fixes_an_unbound_ledger(engine, registers):
    ua = countries.catalogue_for(registers / "ua")
    assert countries.check_ledger(engine, ua, registers / "ua") is None  # unbound: anything goes
    countries.bind(engine, "ua", "UAH", "UA-202501-01")
    assert countries.current(engine).bound_by == "UA-202501-01"
    with pytest.raises(Refused, match="db init names RS"):
        countries.bind_at_init(engine, "rs")


def test_the_binding_is_written_once_the_database_refuses_edits(engine):
    countries.bind_at_init(engine, "me")
    for statement in ("UPDATE ledger_country SET country = 'rs'", "DELETE FROM ledger_country"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
    assert (countries.current(engine).country, countries.current(engine).currency) == ("me", "EUR")


def test_the_binding_records_the_catalogue_named_then(engine):
    countries.bind_at_init(engine, "ua")
    with engine.connect() as conn:
        row = conn.execute(sa.select(countries.ledger_country)).one()
    assert row.catalogue_name == "ukraine.toml" and len(row.catalogue_sha256) == 64


def fresh_ledger(url: str) -> str:
    with Ledger(url) as ledger:
        ledger.init()
        store.init_schema(ledger.engine)
    return url


def test_of_two_first_payrolls_at_once_the_other_countrys_stores_nothing(registers, tmp_path, monkeypatch):
    from payroll import cycle

    url = fresh_ledger(f"sqlite:///{tmp_path / 'race.db'}")
    checked = countries.check_ledger

    def rs_binds_meanwhile(engine, catalogue, data_dir=None):
        found = checked(engine, catalogue, data_dir)     # unbound when UA's calculation starts ...
        countries.bind(engine, "rs", "RSD", "RS-202501-01")   # ... and an RS payroll binds it meanwhile
        return found

    monkeypatch.setattr(countries, "check_ledger", rs_binds_meanwhile)
    with pytest.raises(Refused, match="belongs to RS"):
        cycle.calculate(url, registers / "ua", "2025-01", "ana", store_dir=tmp_path / "store")
    with Ledger(url) as ledger, ledger.engine.connect() as conn:
        assert store.list_payrolls(conn, None) == []
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


def test_the_first_payrolls_binding_commits_with_its_row_or_not_at_all(registers, tmp_path, monkeypatch):
    from payroll import cycle

    url = fresh_ledger(f"sqlite:///{tmp_path / 'atomic.db'}")

    def broken_insert(*_args, **_kwargs):
        raise RuntimeError("disk full (injected) after the binding was written")

    monkeypatch.setattr(store, "insert_payroll", broken_insert)
    with pytest.raises(RuntimeError, match="injected"):
        cycle.calculate(url, registers / "ua", "2025-01", "ana", store_dir=tmp_path / "store")
    with Ledger(url) as ledger:
        assert countries.current(ledger.engine) is None          # rolled back with the payroll row
    monkeypatch.undo()
    summary = cycle.calculate(url, registers / "ua", "2025-01", "ana", store_dir=tmp_path / "store")
    with Ledger(url) as ledger:
        assert countries.current(ledger.engine) == countries.Binding("ua", "UAH", summary["payroll"])


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("pg_schema_url")


def _behind_the_triggers(conn, statement: str, table: str = "ledger_country") -> None:
    """What a database owner can do with the append-only triggers out of the way."""
    if conn.dialect.name == "sqlite":
        for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                            f"AND tbl_name = '{table}'").fetchall():
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
    else:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    conn.exec_driver_sql(statement)


def test_the_binding_is_chained_and_verify_names_an_edit_behind_the_triggers(ledger_url):
    from ledgers.verify import record_findings
    from payroll.session import open_db

    ledger = open_db(ledger_url, create=True)
    try:
        countries.bind_at_init(ledger.engine, "me")
        assert [(e["kind"], e["subject"]) for e in ledger.event_rows()] == [("rows", "ledger_country")]
        assert record_findings(ledger) == []
        with ledger.engine.begin() as conn:
            _behind_the_triggers(conn, "UPDATE ledger_country SET country = 'rs', currency = 'RSD'")
        assert record_findings(ledger) == [
            "ledger_country binding_id=1: country was changed from 'me' to 'rs'",
            "ledger_country binding_id=1: currency was changed from 'EUR' to 'RSD'"]
    finally:
        ledger.close()


def test_db_init_brings_a_version_2_ledger_up_to_date_chaining_its_binding(ledger_url):
    """A version 2 ledger holds its country row outside the chain: every step refuses it until `db init`, which
    copies the row into the chain once and records version 3; verify then finds nothing, and a second init writes
    nothing."""
    from ledgers.schema import SCHEMA_VERSION
    from ledgers.verify import record_findings
    from payroll.errors import UserError
    from payroll.session import open_db

    ledger = open_db(ledger_url, create=True)
    try:
        with ledger.engine.begin() as conn:  # as version 2 left it: the row, no event, version 2
            conn.execute(countries.ledger_country.insert().values(
                binding_id=1, country="ua", currency="UAH", bound_by="db init", bound_at="2026-11-30T10:00:00+00:00"))
            _behind_the_triggers(conn, "DELETE FROM ledger_schema", "ledger_schema")
            conn.exec_driver_sql("INSERT INTO ledger_schema (version, applied_us) VALUES (2, 0)")
        assert record_findings(ledger) == [
            "ledger_country binding_id=1: the row is not in the hash chain (inserted behind it)"]
    finally:
        ledger.close()
    with pytest.raises(UserError, match="schema version 2, this isplata needs 3"):
        open_db(ledger_url).close()  # any other step
    for _ in range(2):
        ledger = open_db(ledger_url, create=True)  # what `isplata db init` runs
        try:
            assert ledger.schema_version() == SCHEMA_VERSION == 3
            assert record_findings(ledger) == []
            assert [(e["kind"], e["subject"]) for e in ledger.event_rows()] == [("rows", "ledger_country")]
            assert countries.current(ledger.engine) == countries.Binding("ua", "UAH", "db init")
        finally:
            ledger.close()


def test_db_init_binding_beside_a_first_payroll_is_refused_not_deadlocked(pg_schema_url):
    """PostgreSQL: `db init --country` while a step that holds the ledger's lock binds the ledger with its first
    payroll. bind() takes the lock before it writes the row, so it waits and is then refused naming the payroll
    that bound the ledger (it used to write the row first and wait for the lock: each waited for the other)."""
    import threading
    import time

    from payroll.session import open_db

    ledger = open_db(pg_schema_url, create=True)
    outcome = {}
    in_step = threading.Event()

    def first_payroll():
        with ledger.step() as conn:
            in_step.set()
            time.sleep(1.0)  # db init meanwhile: on the old order it inserted its row in this second
            countries.bind_in(conn, "ua", "UAH", "UA-202501-01")
        outcome["step"] = "ok"

    def init():
        in_step.wait()
        try:
            countries.bind_at_init(ledger.engine, "me")
            outcome["init"] = "bound"
        except Exception as exc:
            outcome["init"] = exc

    try:
        threads = [threading.Thread(target=first_payroll), threading.Thread(target=init)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert outcome["step"] == "ok"
        assert isinstance(outcome["init"], Refused), outcome["init"]
        assert "db init names ME" in str(outcome["init"]) and "UA-202501-01" in str(outcome["init"])
        assert countries.current(ledger.engine) == countries.Binding("ua", "UAH", "UA-202501-01")
    finally:
        ledger.close()


def test_db_init_refuses_a_version_2_binding_changed_before_the_upgrade(ledger_url, registers, tmp_path,
                                                                         monkeypatch):
    """A version 2 ledger whose country row was changed behind the triggers: chaining it would make the change
    unseen, so `db init` refuses, naming the first payroll's country, and leaves the ledger at version 2."""
    from payroll import cycle
    from payroll.errors import UserError
    from payroll.session import open_db

    open_db(ledger_url, create=True).close()
    monkeypatch.setattr(countries, "append_rows", lambda *_args: None)  # as version 2 bound: no copy in the chain
    cycle.calculate(ledger_url, registers / "ua", "2025-01", "ana", store_dir=tmp_path / "store")
    monkeypatch.undo()
    with Ledger(ledger_url) as ledger, ledger.engine.begin() as conn:
        _behind_the_triggers(conn, "UPDATE ledger_country SET country = 'rs', currency = 'RSD'")
        _behind_the_triggers(conn, "DELETE FROM ledger_schema", "ledger_schema")
        conn.exec_driver_sql("INSERT INTO ledger_schema (version, applied_us) VALUES (2, 0)")
    with pytest.raises(UserError, match=r"names RS \(RSD\) but its first payroll UA-202501-01 is UA \(UAH\)"):
        open_db(ledger_url, create=True)
    with Ledger(ledger_url) as ledger:
        assert ledger.schema_version() == 2

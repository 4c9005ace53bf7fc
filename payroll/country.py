"""Whose rules and whose money: the catalogue a register is calculated with, and the country a ledger belongs to.

A register snapshot records its country (register.json, formats.register_meta); `calculate` and `validate` take
that country's bundled catalogue unless `--rules FILE` or `--country CODE` says otherwise. A catalogue of another
country than the register records is refused: its benefit codes could never match.

A ledger holds one country's money in one currency. `db init --country` records them; where init named none, the
first payroll stored fixes them. The record is one row of `ledger_country` (payroll/store.py), written once: the
database refuses UPDATE and DELETE on it, as on every payroll table, and the row is copied into the ledger's event
chain in the transaction that writes it, so `ledger verify` names an edit made behind dropped triggers. A ledger
made before this table existed is bound by the country and currency of its payrolls. A register or catalogue of
another country or currency is then refused.
"""
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from formats import i18n
from formats.catalogue import load_catalogue
from formats.errors import InputError, problem
from formats.register_meta import META_FILE, register_country
from formats.i18n import N_
from ledgers.store import append_rows, write_locked
from payroll import store
from payroll.errors import Refused

ledger_country = store.ledger_country   # created by db init with the payroll tables (payroll/store.py)
REFUSAL = store.COUNTRY_REFUSAL


@dataclass(frozen=True)
class Binding:
    country: str          # lower case, as catalogues write it
    currency: str
    bound_by: str


# ---- the catalogue of a register ---------------------------------------------------------------------------

def catalogue_for(data_dir, rules=None, country: str | None = None):
    """The catalogue to calculate or validate the register in `data_dir` with: --rules, else --country, else the
    country the register records, else the default (Montenegro). Refused when it is not the register's country."""
    recorded = register_country(data_dir)
    catalogue = load_catalogue(rules, country) if rules or country else load_catalogue(country=recorded)
    i18n.note_country(recorded or catalogue.country)  # messages default to the register's language
    if recorded is not None and recorded != catalogue.country:
        chosen = f"--rules {rules}" if rules else f"--country {country}"
        raise InputError([problem(Path(data_dir) / META_FILE, None, "country", recorded,
                                  N_("the register holds {recorded} benefits but {chosen} is the {country} catalogue "
                                     "({name})", recorded=recorded.upper(), chosen=chosen,
                                     country=catalogue.country.upper(), name=Path(catalogue.path).name),
                                  N_("drop {option} to use the {recorded} catalogue, or give a catalogue of {recorded}",
                                     option=chosen.split()[0], recorded=recorded.upper()))])
    return catalogue


# ---- the country of a ledger -------------------------------------------------------------------------------

def read_binding(conn: sa.Connection) -> Binding | None:
    """The ledger's country and currency: its ledger_country row, else those of its first payroll, else None."""
    return _recorded(conn) or _first_payroll(conn)


def _recorded(conn: sa.Connection) -> Binding | None:
    row = conn.execute(sa.select(ledger_country)).first()
    return None if row is None else Binding(row.country, row.currency, row.bound_by)


def _first_payroll(conn: sa.Connection) -> Binding | None:
    """A ledger made before ledger_country existed (or whose first payroll's binding was not yet written)."""
    first = conn.execute(sa.select(store.payrolls.c.country, store.payrolls.c.currency, store.payrolls.c.payroll_id)
                         .order_by(store.payrolls.c.created_at, store.payrolls.c.payroll_id).limit(1)).first()
    return None if first is None else Binding(first.country.lower(), first.currency, first.payroll_id)


def bind(engine: sa.Engine, country: str, currency: str, by: str, catalogue=None) -> Binding:
    """Record the ledger's country and currency once (with the catalogue named then); the binding in force
    (Refused if it names another country or currency). Under the ledger's write lock, taken first as a step takes
    it before its first payroll binds: a second binder waits, then finds the row and compares with it."""
    with write_locked(engine) as conn:
        return bind_in(conn, country, currency, by, catalogue and catalogue.path, catalogue and catalogue.sha256)


def bind_in(conn: sa.Connection, country: str, currency: str, by: str, catalogue_path: str | None = None,
            catalogue_sha256: str | None = None) -> Binding:
    """bind() in the caller's transaction: an unbound ledger gets its row; Refused if it belongs to another."""
    binding = _recorded(conn)
    if binding is None:
        binding = _first_payroll(conn)
        if binding is None or (binding.country, binding.currency) == (country, currency):
            conn.execute(ledger_country.insert().values(
                binding_id=1, country=country, currency=currency, bound_by=by, bound_at=store.now_text(),
                catalogue_name=catalogue_path and Path(catalogue_path).name, catalogue_sha256=catalogue_sha256))
            # copied into the event chain as stored, in the same transaction: `ledger verify` names any edit
            append_rows(conn, ledger_country.name, [dict(row) for row in conn.execute(sa.select(ledger_country))
                                                    .mappings()])
            return Binding(country, currency, by)
    refuse_other(binding, country, currency, f"{by} names ")
    return binding


def bind_payroll(conn: sa.Connection, record: store.PayrollRecord) -> Binding:
    """The first payroll fixes an unbound ledger, in the transaction that stores its row (under the ledger's
    write lock): the binding and the payroll commit together, and of two first payrolls of different countries
    the second is refused and stores nothing."""
    return bind_in(conn, record.country.lower(), record.currency, record.payroll_id, record.catalogue_path,
                   record.catalogue_sha256)


def current(engine: sa.Engine) -> Binding | None:
    """The ledger's binding (None while no init or payroll fixed it)."""
    with engine.connect() as conn:
        return read_binding(conn)


def bind_at_init(engine: sa.Engine, country: str) -> Binding:
    """`db init --country`: bind the ledger to the country and the currency of its bundled catalogue."""
    catalogue = load_catalogue(country=country)
    return bind(engine, catalogue.country, catalogue.currency, "db init", catalogue)


def check_ledger(engine: sa.Engine, catalogue, data_dir=None) -> Binding | None:
    """Refuse a catalogue (or a register recording a country) other than the ledger's; None while unbound."""
    with engine.connect() as conn:
        binding = read_binding(conn)
    if binding is None:
        return None
    recorded = None if data_dir is None else register_country(data_dir)
    if recorded is not None:
        refuse_other(binding, recorded, None, N_("the register {folder} holds ", folder=data_dir))
    refuse_other(binding, catalogue.country, catalogue.currency,
                 N_("the catalogue {name} is for ", name=Path(catalogue.path).name))
    return binding


def refuse_other(binding: Binding, country: str, currency: str | None, what: str) -> None:
    if country == binding.country and currency in (None, binding.currency):
        return
    other = country.upper() + ("" if currency is None else f" ({currency})")
    raise Refused(N_("{what}{other}, but this ledger belongs to {bound} ({currency}), fixed by {bound_by}: "
                     "{refusal}. Use the ledger of {other_country} (--db URL, or `isplata --db URL db init --country "
                     "{country}` for a new one), or the {bound} register and catalogue",
                     what=what, other=other, bound=binding.country.upper(), currency=binding.currency,
                     bound_by=binding.bound_by, refusal=REFUSAL, other_country=country.upper(), country=country))

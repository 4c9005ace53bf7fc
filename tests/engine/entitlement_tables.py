"""Builds register tables and engine inputs from plain rows for the entitlement tests and scenarios."""
import pyarrow as pa

from engine.entitlement import compute_due
from formats.convert import register_arrays
from formats.schemas import HOUSEHOLDS, HOUSING_COSTS, MAINTENANCE_TITLES, PAYEES, PERSONS, RIGHTS, WAGE_BASES

PERSON_DEFAULTS = dict(family_name="Petrović", given_name="Ana", municipality="Podgorica")
RIGHT_DEFAULTS = dict(payee_id=1)


def tables(persons, memberships, versions, housing_costs=(), wage_bases=()):
    """pyarrow tables in the register schemas; one bank payee with id 1 serves every right."""
    person_rows = [{**PERSON_DEFAULTS, **row} for row in persons]
    right_rows = [{**RIGHT_DEFAULTS, **row} for row in versions]
    payee = dict(payee_id=1, channel="bank", kind="person", name="Ana", country="ME")
    return dict(persons=pa.Table.from_pylist(person_rows, schema=PERSONS),
                households=pa.Table.from_pylist(list(memberships), schema=HOUSEHOLDS),
                rights=pa.Table.from_pylist(right_rows, schema=RIGHTS),
                payees=pa.Table.from_pylist([payee], schema=PAYEES),
                housing_costs=pa.Table.from_pylist(list(housing_costs), schema=HOUSING_COSTS),
                wage_bases=pa.Table.from_pylist(list(wage_bases), schema=WAGE_BASES))


def engine_due(persons, memberships, versions, catalogue, period, start, titles=(), housing_costs=(), wage_bases=(),
               reasons=None):
    """{(right_id, month): (due_minor, rule_missing)} computed by the engine over [start, period]; `titles`: rows of
    the maintenance_titles table (maintenance advances); `reasons`, a dict, receives {(right_id, month): reason} of
    the cells with a REASON_* other than none."""
    register = tables(persons, memberships, versions, housing_costs, wage_bases)
    if titles:
        register["maintenance_titles"] = pa.Table.from_pylist(list(titles), schema=MAINTENANCE_TITLES)
    arrays = register_arrays(register, catalogue)
    compiled = catalogue.compile_window(start, period)
    cells = compute_due(arrays, compiled, period, start)
    right_ids = arrays.right_ids[cells.right_index]
    if reasons is not None:
        reasons.update({(int(r), int(m)): int(x) for r, m, x in zip(right_ids, cells.month, cells.reason) if x})
    return {(int(r), int(m)): (int(d), bool(x))
            for r, m, d, x in zip(right_ids, cells.month, cells.due_minor, cells.rule_missing)}

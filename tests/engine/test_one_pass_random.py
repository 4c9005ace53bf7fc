"""Random registers against the one pass over a household formula's months (engine/entitlement.py _household_right,
_one_pass_versions): rights of 1 to 6 versions (lengths of a day to ten months, one day or weeks apart, overlapping,
open-ended, numbered out of order, another household or beneficiary), deaths, second membership spells, births
within the window, decisions before and after the day asked, windows starting anywhere within 40 months and months
without parameters in force, age limits and the days policy switched on in the compiled catalogue: every output
field of compute_due equals the month-by-month loop's (ONE_PASS_HOUSEHOLDS off). After the generator a reviewer
wrote to look for a counter-example to the several-versions path (none found in about 150 registers)."""
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from engine import catalogue as cat
from engine import entitlement
from formats import schemas
from formats.catalogue import load_catalogue
from formats.convert import register_arrays

EPOCH = dt.date(1970, 1, 1)
PERIOD = 671  # 2025-12


def day_of(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def first_day(month: int) -> int:
    """Days since 1970-01-01 of the first day of a month index, also before 1970 (births)."""
    return (dt.date(1970 + month // 12, month % 12 + 1, 1) - EPOCH).days


def persons_and_households(rng, households: int) -> tuple[list, list, dict]:
    persons, members, people = [], [], {}
    low = first_day(PERIOD - 40)
    for household in range(1, households + 1):
        people[household] = []
        for j in range(int(rng.integers(1, 6))):
            person = len(persons) + 1
            months_old = 12 * int(rng.integers(18, 70)) if j == 0 or rng.random() < 0.5 else int(rng.integers(-6, 240))
            birth = first_day(PERIOD - months_old) + int(rng.integers(0, 28))
            death = max(birth + 1, low + int(rng.integers(0, 45 * 30))) if rng.random() < 0.25 else None
            persons.append({"person_id": person, "birth_date": day_of(birth), "family_name": "X", "given_name": "Y",
                            "death_date": None if death is None else day_of(death), "municipality": "Z",
                            "disabled": bool(rng.random() < 0.15), "without_parental_care": False})
            role = "head" if j == 0 else ("child" if rng.random() < 0.5 else "adult")
            start = birth if rng.random() < 0.6 else max(birth, low + int(rng.integers(0, 40 * 30)))
            end = start + int(rng.integers(0, 900)) if rng.random() < 0.25 else None
            members.append({"household_id": household, "person_id": person, "role": role,
                            "member_from": day_of(start), "member_to": None if end is None else day_of(end)})
            if end is not None and rng.random() < 0.1:  # a second spell
                members.append({"household_id": household, "person_id": person, "role": role,
                                "member_from": day_of(end + int(rng.integers(1, 200))), "member_to": None})
            people[household].append(person)
    return persons, members, people


def versions_of(rng, households: int, people: dict) -> list[dict]:
    household = int(rng.integers(1, households + 1))
    first = first_day(PERIOD - int(rng.integers(0, 36))) + int(rng.integers(0, 28))
    out = []
    for _ in range(int(rng.integers(1, 7))):
        length = int(rng.integers(0, 300)) if rng.random() < 0.7 else int(rng.integers(0, 40))
        end = None if rng.random() < 0.15 else first + length
        own = household if rng.random() < 0.8 else int(rng.integers(1, households + 1))
        who = people[own][0] if rng.random() < 0.8 else int(rng.choice(people[own]))
        out.append({"from": first, "to": end, "household": own, "person": who,
                    "decided": first - int(rng.integers(-60, 30))})
        first = (first + 300 if end is None else end) + (1 if rng.random() < 0.4 else int(rng.integers(-40, 70)))
    if rng.random() < 0.3:
        rng.shuffle(out)  # version numbers out of the order of their dates
    return out


def register(rng, codes: list[str], n_rights: int) -> dict:
    households = max(2, n_rights // int(rng.integers(3, 60)))
    persons, members, people = persons_and_households(rng, households)
    rights = []
    for right in range(1, n_rights + 1):
        code = codes[0] if rng.random() < 0.6 else str(rng.choice(codes))
        for number, version in enumerate(versions_of(rng, households, people)):
            rights.append({"right_id": right, "version": number + 1, "benefit": code, "payee_id": 1,
                           "person_id": version["person"], "household_id": version["household"],
                           "valid_from": day_of(version["from"]),
                           "valid_to": None if version["to"] is None else day_of(version["to"]),
                           "decided_on": day_of(version["decided"]),
                           "applied_on": day_of(version["decided"] - int(rng.integers(0, 3))),
                           "income_minor": int(rng.integers(0, 600_000)) if rng.random() < 0.7 else 0,
                           "unable_to_work": bool(rng.random() < 0.3)})
    payees = [{"payee_id": 1, "channel": "post", "kind": "person", "name": "A", "country": "ME"}]
    return {"persons": pa.Table.from_pylist(persons, schema=schemas.PERSONS),
            "households": pa.Table.from_pylist(members, schema=schemas.HOUSEHOLDS),
            "rights": pa.Table.from_pylist(rights, schema=schemas.RIGHTS),
            "payees": pa.Table.from_pylist(payees, schema=schemas.PAYEES)}


def varied(rng, compiled, b: int):
    """The compiled catalogue with benefit b on the days policy, its stop on death and age limits drawn, and a few
    runs of months without parameters in force."""
    settings, prorate, defined = compiled.settings.copy(), compiled.prorate_days.copy(), compiled.defined.copy()
    prorate[b] = True
    settings[b, cat.SET_STOPS_ON_DEATH] = int(rng.random() < 0.7)
    settings[b, cat.SET_AGE_MIN] = int(rng.integers(19, 40)) if rng.random() < 0.3 else 0
    settings[b, cat.SET_AGE_MAX] = int(rng.integers(30, 70)) if rng.random() < 0.3 else 0
    for _ in range(int(rng.integers(1, 4))):
        gap = int(rng.integers(0, defined.shape[1]))
        defined[b, gap:gap + int(rng.integers(1, 4))] = False
    return compiled._replace(settings=settings, prorate_days=prorate, defined=defined)


@pytest.mark.parametrize("country, codes, seed", [("ua", ["UA_DSD", "UA_ODYN", "UA_TYMCH"], 1),
                                                 ("ua", ["UA_DSD", "UA_ODYN", "UA_TYMCH"], 2),
                                                 ("me", ["ME_MO", "ME_DD"], 3), ("me", ["ME_MO", "ME_DD"], 4)])
def test_random_registers_give_the_month_by_month_loops_cells(country, codes, seed, monkeypatch):
    rng = np.random.default_rng(seed)
    catalogue = load_catalogue(country=country)
    arrays = register_arrays(register(rng, codes, 300), catalogue)
    first = np.asarray(arrays.ver_from_month, np.int64)[np.asarray(arrays.version_offsets[:-1])]
    starts = np.where(rng.random(arrays.n_rights) < 0.4, np.clip(first + rng.integers(-1, 8, arrays.n_rights),
                                                                   PERIOD - 40, PERIOD),
                      PERIOD - rng.integers(0, 40, arrays.n_rights)).astype(np.int32)
    compiled = catalogue.compile(*entitlement.compiled_range(starts, PERIOD, catalogue.first_month()))
    b = compiled.codes.index(codes[0])
    compiled = varied(rng, compiled, b)
    offsets, ver32 = arrays.version_offsets, arrays.packed.ver32
    several = [r for r in np.flatnonzero(np.diff(offsets) > 1)
               if compiled.kind[arrays.right_benefit[r]] == compiled.kind[b]]
    served = sum(bool(entitlement._one_pass_versions.py_func(offsets[r], offsets[r + 1], compiled.kind[b], ver32))
                 for r in several)
    assert served >= 5 and len(several) - served >= 10, (served, len(several))  # both ways are taken
    decided = np.asarray(arrays.ver_decided_day, np.int64)
    limits = [None, int(rng.choice(decided)), int(rng.choice(decided)) - 1, int(np.median(decided))]
    paid, missing = [], []
    for limit in limits:
        monkeypatch.setattr(entitlement, "ONE_PASS_HOUSEHOLDS", True)
        got = entitlement.compute_due(arrays, compiled, PERIOD, starts, decided_by_day=limit)
        monkeypatch.setattr(entitlement, "ONE_PASS_HOUSEHOLDS", False)
        want = entitlement.compute_due(arrays, compiled, PERIOD, starts, decided_by_day=limit)
        for field in want._fields:
            assert np.array_equal(np.asarray(getattr(got, field)), np.asarray(getattr(want, field))), (field, limit)
        paid.append(int((want.due_minor > 0).sum()))
        missing.append(int(want.rule_missing.sum()))
    assert paid[0] > 100 and min(missing) > 0, (paid, missing)  # amounts and months without rules were compared

"""payroll.simulate_sums: the one-pass sums and counts equal plain numpy (per-row sums, np.add.at, the state of
every cell by payroll.simulate.states), cell by cell, on random dues with every state present and about half the
rights recomputed (the others due as today); municipalities read as Parquet dictionaries name the same places."""
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from payroll.simulate import STATE_TABLE, STATES, municipality_codes, states
from payroll.simulate_sums import cost_sums


def reference(base, new, benefit, n_benefits, place, n_places):
    month_sums = np.zeros((2, base.shape[1], n_benefits), np.int64)
    month_counts = np.zeros((base.shape[1], n_benefits, STATES), np.int64)
    for j in range(base.shape[1]):
        np.add.at(month_sums[0, j], benefit, base[:, j])
        np.add.at(month_sums[1, j], benefit, new[:, j])
        np.add.at(month_counts[j], (benefit, states(base[:, j], new[:, j])), 1)
    base_total, new_total = base.sum(axis=1), new.sum(axis=1)
    state = states(base_total, new_total)
    found = [month_sums, month_counts]
    for codes, size in ((benefit, n_benefits), (place, n_places)):
        sums, counts = np.zeros((2, size), np.int64), np.zeros((size, STATES), np.int64)
        np.add.at(sums[0], codes, base_total)
        np.add.at(sums[1], codes, new_total)
        np.add.at(counts, (codes, state), 1)
        found += [sums, counts]
    return found


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 60), st.integers(1, 13), st.integers(1, 5), st.integers(1, 7), st.integers(0, 2**31))
def test_one_pass_equals_numpy(rights, months, n_benefits, n_places, seed):
    rng = np.random.default_rng(seed)
    base = rng.choice([0, 0, 100, 250, 10**12], size=(rights, months)).astype(np.int64)
    change = rng.choice([0, 0, 1, -1, -100, -250, 37], size=(rights, months))
    new = np.maximum(base + change, 0).astype(np.int64)
    benefit = rng.integers(0, n_benefits, rights).astype(np.int16)
    place = rng.integers(0, n_places, rights).astype(np.intp)
    new_row = np.where(rng.random(rights) < 0.5, -1, np.arange(rights))  # -1: due as today
    recomputed = np.flatnonzero(new_row >= 0)
    new_row[recomputed] = np.arange(recomputed.shape[0])
    new = np.where((new_row >= 0)[:, None], new, base)
    found = cost_sums(base, new_row, new[recomputed], benefit, n_benefits, place, n_places, STATE_TABLE)
    for got, expected in zip(found, reference(base, new, benefit.astype(np.intp), n_benefits, place, n_places)):
        assert got.dtype == np.int64 and np.array_equal(got, expected)
    assert found.benefit_counts.sum() == found.place_counts.sum() == rights


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.none() | st.sampled_from(["Bar", "Budva", "Nikšić", "", "Žabljak"]), max_size=6),
                max_size=4))
def test_municipality_codes_of_dictionaries_name_the_same_places(chunks):
    plain = pa.chunked_array([pa.array(chunk, pa.string()) for chunk in chunks], pa.string())
    encoded = pa.chunked_array([pa.array(chunk, pa.string()).dictionary_encode() for chunk in chunks],
                               pa.dictionary(pa.int32(), pa.string()))
    for column in (plain, encoded):
        codes, names = municipality_codes(column)
        assert [names[code] for code in codes.tolist()] == [value or "" for chunk in chunks for value in chunk]
        assert len(set(names)) == len(names)


def test_right_municipalities_read_as_dictionaries_equal_plain_text(tmp_path):
    from formats import convert
    from formats.catalogue import load_catalogue
    from formats.register import read_register
    from payroll.simulate import UNREAD, right_municipalities
    from synthetic.register import generate_register

    generate_register(tmp_path, 3000, 4, "2025-06")
    catalogue = load_catalogue()
    plain = read_register(tmp_path, catalogue)
    lean = read_register(tmp_path, catalogue, drop=UNREAD, dictionaries={"persons": ("municipality",)})
    assert pa.types.is_dictionary(lean["persons"].column("municipality").type)
    arrays = convert.register_arrays(plain, catalogue)
    named = []
    for register in (plain, lean):
        codes, names = right_municipalities(register["persons"], arrays, 24305)
        named.append([names[code] for code in codes.tolist()])
    assert named[0] == named[1] and len(set(named[0])) > 5

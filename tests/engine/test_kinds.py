"""The issue 17 kernel helpers at their edges (the scenarios and the property test cover the kinds in a register):
the housing subsidy's share without int64 overflow, the per-child reference minus income rounded once (the helper
H-advance's temporary child aid calls), the loader's refusal of a zero divisor, and the payroll's listing of months
without a housing cost or wage base."""
from pathlib import Path

import numpy as np
import pytest

from engine.entitlement import (REASON_NO_BASE, DueCells, housing_subsidy, reference_minus_per_capita,
                                reference_minus_per_capita_numerator)
from engine.money import AMOUNT_MINOR_MAX
from formats.catalogue import catalogue_path, load_catalogue
from formats.errors import InputError

S, K = 320_900, 1_500  # 3,209.00 UAH per person, 15 %


def test_housing_subsidy_by_hand():
    # 2 members, income 8,000.00: share 9.35 % (935 bp), payment 748.00, cost 3,100.50 -> 2,352.50
    assert housing_subsidy(310_050, 800_000, 2, S, K) == 235_250
    assert housing_subsidy(74_800, 800_000, 2, S, K) == 0         # the cost equals the payment
    assert housing_subsidy(74_801, 800_000, 2, S, K) == 1
    assert housing_subsidy(310_050, 0, 2, S, K) == 310_050        # no income: the whole cost


def test_housing_subsidy_of_a_huge_income_does_not_overflow():
    # income x share_bp would be about 10^13 x 10^9: the early exit answers 0 instead of a wrapped product
    assert housing_subsidy(AMOUNT_MINOR_MAX, AMOUNT_MINOR_MAX, 1, 1, 100_000) == 0
    assert housing_subsidy(AMOUNT_MINOR_MAX, 1, 1, S, K) == AMOUNT_MINOR_MAX


def test_reference_minus_per_capita_rounds_once_and_keeps_the_floor():
    # ПМ 2,563.00, 3 members, income 1,000.00: 2,563 - 333.333... = 2,229.67
    assert reference_minus_per_capita(256_300, 3, 100_000, 0) == 222_967
    # two children summed as numerators, rounded once: 5,092.33 (2,229.67 + 2,862.67 would be 5,092.34)
    total = (reference_minus_per_capita_numerator(256_300, 3, 100_000, 0)
             + reference_minus_per_capita_numerator(319_600, 3, 100_000, 0))
    assert (2 * total + 30_000) // 60_000 == 509_233
    assert reference_minus_per_capita(319_600, 2, 1_000_000, 0) == 0          # income above the reference
    assert reference_minus_per_capita(319_600, 2, 1_000_000, 5_000) == 159_800  # floor 50 %: 1,598.00
    assert reference_minus_per_capita(256_300, 2, 0, 5_000) == 256_300          # above the floor


def test_a_zero_subsistence_per_person_is_refused(tmp_path):
    text = Path(catalogue_path("ua")).read_text(encoding="utf-8")
    line = text[text.index("subsistence_per_person = ["):]
    line = line[:line.index("]\n") + 2]
    bad = tmp_path / "ua.toml"
    bad.write_text(text.replace(line, 'subsistence_per_person = [\n  { valid_from = 2026-01-01, value = "0.00", '
                                      'source = "budget_2026_pm", status = "reported" },\n]\n'), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_catalogue(bad)
    assert any("subsistence_per_person divides" in p.rule for p in caught.value.problems)
    load_catalogue(country="ua")  # the bundled one derives it from the ПМ base: accepted


def test_months_without_a_housing_cost_or_wage_base_are_listed_by_the_payroll():
    from payroll.compute import refused_cells

    class Arrays:
        right_ids = np.array([41, 42], dtype=np.int64)

    cells = DueCells(np.array([0, 1], np.int32), np.array([672, 673], np.int32), np.zeros(2, np.int64),
                     np.zeros(2, bool), np.array([0, 1, 2], np.int64), np.array([0, REASON_NO_BASE], np.int8))
    assert refused_cells(Arrays, cells)["no_housing_cost_or_wage_base"] == [{"right_id": 42, "month": "2026-02"}]


def test_rate_times_days_rounds_the_daily_rate_first():
    from engine.entitlement import rate_times_days

    # 7,000.00 / 30 = 233.333... -> 233.33 (the published figures), not 7,000.00 x 126 / 30 = 29,400.00
    assert [rate_times_days(700_000, 30, days) for days in (126, 140, 180)] == [2_939_958, 3_266_620, 4_199_940]
    assert rate_times_days(100, 30, 30) == 90           # 3.33 x 30: the rounding of the daily rate shows
    assert rate_times_days(50, 100, 10) == 10           # 0.5 of a kopeck rounds half-up to 1 a day
    assert rate_times_days(700_000, 30, 0) == 0


def test_the_loader_refuses_a_zero_days_per_month(tmp_path):
    text = catalogue_path("ua").read_text(encoding="utf-8")
    broken = text.replace("{ valid_from = 2026-01-01, value = 30, source", "{ valid_from = 2026-01-01, value = 0, source", 1)
    assert broken != text
    path = tmp_path / "ua.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_catalogue(path)
    assert any("days_per_month divides" in p.rule for p in caught.value.problems)

"""A rule catalogue compiled into integer arrays indexed by (benefit, month), so kernels never see strings or dates.

The catalogue arrives as plain Python data (formats/catalogue.py reads and validates the TOML; the engine never
imports formats). Every parameter is a list of (valid_from month index, values in integer units); the value in
force in a month is the latest one whose valid_from month is not after it, so indexation is just another dated
value. Parameters live in one flat slot table shared by all formula kinds (PARAM_LAYOUT), which keeps the
kernels' argument lists short and lets every kind read its parameters by constant offsets.
"""
from typing import NamedTuple

import numpy as np

KINDS = ("flat", "graded_flat", "per_child", "household_table_minus_income",
         "equivalence_scale_minus_income", "category_sum_minus_income_capped",
         "lump_sum_instalments", "one_off",
         # issue 17 (see engine/entitlement.py for each formula)
         "per_member_category", "housing_cost_minus_share", "wage_replacement", "top_up_to_ceiling",
         "per_child_reference_minus_income",
         # --- issue 17: advances (engine/advances.py)
         "maintenance_advance",
         # --- issue 17: a monthly rate paid once for a period of days (engine/entitlement.py)
         "monthly_rate_times_days")
KIND_FLAT, KIND_GRADED, KIND_PER_CHILD, KIND_HOUSEHOLD_TABLE = 0, 1, 2, 3
KIND_EQUIVALENCE, KIND_CATEGORY_SUM, KIND_LUMP_SUM, KIND_ONE_OFF = 4, 5, 6, 7
KIND_PER_MEMBER, KIND_HOUSING, KIND_WAGE, KIND_TOP_UP, KIND_CHILD_REFERENCE = 8, 9, 10, 11, 12
KIND_MAINTENANCE_ADVANCE = KINDS.index("maintenance_advance")
KIND_RATE_DAYS = KINDS.index("monthly_rate_times_days")

PRORATIONS = ("whole_months", "days")

# name -> (maximum number of values, unit). Units: money (minor units), bp (basis points, 10_000 = 100 %),
# count (plain integer). A parameter given with fewer values than the maximum uses its last value for any
# larger index (base_by_size: "5+" households; *_by_order: "4th and later").
PARAM_SHAPES = {
    "amount": (1, "money"),
    "amount_by_grade": (12, "money"),
    "age_max_by_grade": (12, "count"),   # graded_flat: paid through the month of this birthday (0: no limit)
    "child_amount": (1, "money"),
    "child_amount_mo_family": (1, "money"),
    "child_amount_single_parent": (1, "money"),
    "child_amount_special": (1, "money"),
    "max_children": (1, "count"),
    "base_by_size": (10, "money"),
    "base": (1, "money"),
    "scale_first_adult_bp": (1, "bp"),
    "scale_further_adult_bp": (1, "bp"),
    "scale_child_bp": (1, "bp"),
    "max_members": (1, "count"),
    "supplement_bp": (1, "bp"),
    "max_months_per_year": (1, "count"),
    "subsistence_working_age": (1, "money"),
    "subsistence_child_under_6": (1, "money"),
    "subsistence_child_6_18": (1, "money"),
    "subsistence_disabled": (1, "money"),
    "guaranteed_working_age_bp": (1, "bp"),
    "guaranteed_child_bp": (1, "bp"),
    "guaranteed_disabled_bp": (1, "bp"),
    "lump_sum_by_order": (6, "money"),
    "instalment_total_by_order": (6, "money"),
    "instalment_count_by_order": (6, "count"),
    "amount_by_order": (6, "money"),
    "amount_by_order_mo_family": (6, "money"),
    # issue 17
    "adult_amount": (1, "money"),
    "child_or_disabled_amount": (1, "money"),
    "share_coefficient_bp": (1, "bp"),
    "subsistence_per_person": (1, "money"),
    "replacement_bp": (1, "bp"),
    "floor_amount": (1, "money"),
    "ceiling_amount": (1, "money"),
    "disabled_multiplier_bp": (1, "bp"),
    "supplement_by_subgroup": (2, "money"),
    "floor_bp": (1, "bp"),
    "multiplier_by_order_bp": (6, "bp"),
    # --- issue 17: advances (engine/advances.py)
    "advance_band_limits_years": (3, "count"),   # upper age of each band but the last (exclusive), ascending
    "advance_reference_by_band": (4, "money"),   # amount (or subsistence minimum) of each age band
    "advance_floor_bp": (1, "bp"),               # means-tested: at least this share of the reference
    # --- issue 17: monthly_rate_times_days
    "monthly_rate": (1, "money"),                # the rate of a month of the period
    "days_per_month": (1, "count"),              # divides the monthly rate into the daily rate
    "period_days_allowed": (4, "count"),         # the lengths of period the law knows (the register is checked)
}


def _layout():
    offsets, cursor = {}, 0
    for name, (length, _unit) in PARAM_SHAPES.items():
        offsets[name] = cursor
        cursor += length
    return offsets, cursor


PARAM_OFFSET, SLOT_COUNT = _layout()

# Parameters each kind needs (required) and may have (optional: absent means "same as" the named fallback,
# or 0 for counts where 0 means "no limit").
KIND_PARAMS = {
    "flat": {"required": ("amount",), "optional": {"disabled_multiplier_bp": None}},
    "graded_flat": {"required": ("amount_by_grade",), "optional": {"supplement_by_subgroup": None,
                                                                   "age_max_by_grade": None}},
    "per_child": {"required": ("child_amount",),
                  "optional": {"child_amount_mo_family": "child_amount",
                               "child_amount_single_parent": "child_amount",
                               "child_amount_special": "child_amount", "max_children": None}},
    "household_table_minus_income": {"required": ("base_by_size",), "optional": {}},
    "equivalence_scale_minus_income": {
        "required": ("base", "scale_first_adult_bp", "scale_further_adult_bp", "scale_child_bp"),
        "optional": {"max_members": None, "supplement_bp": None, "max_months_per_year": None}},
    "category_sum_minus_income_capped": {
        "required": ("subsistence_working_age", "subsistence_child_under_6", "subsistence_child_6_18",
                     "subsistence_disabled", "guaranteed_working_age_bp", "guaranteed_child_bp",
                     "guaranteed_disabled_bp"),
        "optional": {}},
    "lump_sum_instalments": {"required": ("lump_sum_by_order", "instalment_total_by_order",
                                          "instalment_count_by_order"), "optional": {}},
    "one_off": {"required": ("amount_by_order",), "optional": {"amount_by_order_mo_family": "amount_by_order"}},
    # issue 17
    "per_member_category": {"required": ("adult_amount", "child_or_disabled_amount"), "optional": {}},
    "housing_cost_minus_share": {"required": ("share_coefficient_bp", "subsistence_per_person"), "optional": {}},
    "wage_replacement": {"required": ("replacement_bp",),
                         "optional": {"floor_amount": None, "ceiling_amount": None}},
    "top_up_to_ceiling": {"required": ("ceiling_amount",), "optional": {}},
    "per_child_reference_minus_income": {"required": ("subsistence_child_under_6", "subsistence_child_6_18"),
                                         "optional": {"floor_bp": None, "multiplier_by_order_bp": None}},
    # --- issue 17: advances (engine/advances.py)
    "maintenance_advance": {"required": ("advance_reference_by_band",),
                            "optional": {"advance_band_limits_years": None, "advance_floor_bp": None}},
    # --- issue 17: a monthly rate paid once for a period of days
    "monthly_rate_times_days": {"required": ("monthly_rate", "days_per_month", "period_days_allowed"),
                                "optional": {}},
}
# parameters that divide (a zero would be a division by zero in the kernels), and multipliers whose 0 in the
# kernels means "not in force" (x 1): the loader refuses 0
POSITIVE_PARAMS = frozenset({"subsistence_per_person", "multiplier_by_order_bp", "days_per_month"})

# Benefit-level integer settings the kernels read, with their defaults (0 = no limit).
BENEFIT_SETTINGS = {
    "stops_on_death": True,
    "age_min_years": 0,
    "age_max_years": 0,
    "child_age_limit_years": 18,
    "young_child_age_limit_years": 6,
    "twins_excepted": False,
    "decided_amount": False,
    # Readings 2, 5, 6 and 12 of RULES.md (0 = not used):
    "lost_capacity_age_years": 0,   # category sum: adults from this age count as lost working capacity
    "claim_within_months": 0,       # one-off / lump sum: month applied <= the first month + this
    "special_rate_benefit": 0,      # per child: 1 + index of the benefit whose right in force gives the special rate
    "multiple_of_benefit": 0,       # one-off: 1 + index of the benefit of the household it is a multiple of
    "multiple_bp": 0,               # ... and the multiple in basis points (20_000 = 2 x)
}


class CompiledCatalogue(NamedTuple):
    """Parameter arrays for months [first_month, first_month + n_months); benefit b is codes[b]."""
    codes: tuple
    first_month: int
    n_months: int
    kind: np.ndarray              # int8[B]
    prorate_days: np.ndarray      # bool[B]
    settings: np.ndarray          # int32[B, len(BENEFIT_SETTINGS)] in BENEFIT_SETTINGS order
    params: np.ndarray            # int64[B, M, SLOT_COUNT]
    param_len: np.ndarray         # int32[B, SLOT_COUNT], number of values given (0 = absent)
    defined: np.ndarray           # bool[B, M]: every required parameter has a value in force

    def benefit_index(self, code: str) -> int:
        return self.codes.index(code)


SETTING_INDEX = {name: i for i, name in enumerate(BENEFIT_SETTINGS)}
SET_STOPS_ON_DEATH = SETTING_INDEX["stops_on_death"]
SET_AGE_MIN = SETTING_INDEX["age_min_years"]
SET_AGE_MAX = SETTING_INDEX["age_max_years"]
SET_CHILD_AGE = SETTING_INDEX["child_age_limit_years"]
SET_YOUNG_CHILD_AGE = SETTING_INDEX["young_child_age_limit_years"]
SET_TWINS = SETTING_INDEX["twins_excepted"]
SET_DECIDED = SETTING_INDEX["decided_amount"]
SET_LOST_CAPACITY_AGE = SETTING_INDEX["lost_capacity_age_years"]
SET_CLAIM_WITHIN = SETTING_INDEX["claim_within_months"]
SET_SPECIAL_BENEFIT = SETTING_INDEX["special_rate_benefit"]
SET_MULTIPLE_OF = SETTING_INDEX["multiple_of_benefit"]
SET_MULTIPLE_BP = SETTING_INDEX["multiple_bp"]


def compile_catalogue(benefits: list[dict], first_month: int, last_month: int) -> CompiledCatalogue:
    """benefits: [{"code", "kind", "proration", settings..., "parameters": {name: [(month, [int, ...])]}}].

    The formats loader has validated the data; this only asserts what would be a programmer error.
    """
    assert last_month >= first_month, (first_month, last_month)
    assert benefits, "a catalogue needs at least one benefit"
    n_benefits, n_months = len(benefits), last_month - first_month + 1
    codes = tuple(benefit["code"] for benefit in benefits)
    params = np.zeros((n_benefits, n_months, SLOT_COUNT), dtype=np.int64)
    param_len = np.zeros((n_benefits, SLOT_COUNT), dtype=np.int32)
    defined = np.ones((n_benefits, n_months), dtype=np.bool_)
    settings = np.zeros((n_benefits, len(BENEFIT_SETTINGS)), dtype=np.int32)
    for b, benefit in enumerate(benefits):
        settings[b] = [_setting(benefit.get(name, default), codes) for name, default in BENEFIT_SETTINGS.items()]
        _fill_parameters(benefit, params[b], param_len[b], defined[b], first_month)
    kind = np.array([KINDS.index(benefit["kind"]) for benefit in benefits], dtype=np.int8)
    prorate_days = np.array([benefit.get("proration", "whole_months") == "days" for benefit in benefits])
    return CompiledCatalogue(codes, first_month, n_months, kind, prorate_days, settings, params, param_len,
                             defined)


def _setting(value, codes) -> int:
    """An integer setting; a benefit code (special_rate_benefit, multiple_of_benefit) becomes 1 + its index."""
    if isinstance(value, str):
        return codes.index(value) + 1 if value else 0
    return int(value)


def _fill_parameters(benefit, params, param_len, defined, first_month):
    spec = KIND_PARAMS[benefit["kind"]]
    given = benefit["parameters"]
    # a decided amount (UA_POHOV) comes with the right, so the catalogue needs no amount for it
    required = () if benefit.get("decided_amount") or benefit.get("multiple_of_benefit") else spec["required"]
    if benefit.get("unpriced"):
        # no amount in any public source (research status N): never in force, so calculating it is refused
        defined[:] = False
        required = tuple(name for name in required if name in given)
    for name in required:
        assert name in given, (benefit["code"], name)
        covered = _fill_one(given[name], params, param_len, name, first_month)
        defined &= covered
    for name, fallback in spec["optional"].items():
        if name in given:
            _fill_one(given[name], params, param_len, name, first_month)
        elif fallback is not None and fallback in given:
            _fill_one(given[fallback], params, param_len, name, first_month)


def _fill_one(dated_values, params, param_len, name, first_month) -> np.ndarray:
    """Write one dated parameter into its slots; returns the months where a value is in force."""
    offset = PARAM_OFFSET[name]
    max_len = PARAM_SHAPES[name][0]
    n_months = params.shape[0]
    covered = np.zeros(n_months, dtype=np.bool_)
    previous_month = None
    for valid_from_month, values in dated_values:
        assert previous_month is None or valid_from_month > previous_month, (name, valid_from_month)
        assert 1 <= len(values) <= max_len, (name, values)
        previous_month = valid_from_month
        start = max(0, valid_from_month - first_month)
        if start >= n_months:
            continue
        padded = list(values) + [values[-1]] * (max_len - len(values))
        params[start:, offset:offset + max_len] = padded
        covered[start:] = True
    param_len[offset:offset + max_len] = len(dated_values[-1][1])
    return covered

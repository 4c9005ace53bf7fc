"""Households and persons of a synthetic register: real age structure, sexes, births, deaths, disability, names.
"""
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthetic.arrays import month_start_days, pick_strings, weighted_choice
from synthetic.context import Context
from synthetic.identifiers import jmbg, rnokpp
from synthetic.names import CountryData, latin_to_cyrillic


# ---- households and persons -----------------------------------------------------------------------------

ADULT, ELDERLY, CHILD = 0, 1, 2


@dataclass
class People:
    """One chunk's households and persons as parallel numpy arrays (persons ordered by household)."""

    household_count: int
    place: np.ndarray            # per household: index into country.places
    formed_days: np.ndarray      # per household: day the household was formed
    cyrillic: np.ndarray         # per household: names recorded in Cyrillic
    family: np.ndarray           # per household: family-name index
    first: np.ndarray            # per household: position of its first person
    size: np.ndarray             # per household: members
    adults: np.ndarray           # per household: adults 18-64
    children: np.ndarray         # per household: children 0-17
    household: np.ndarray        # per person
    category: np.ndarray         # per person: ADULT, ELDERLY, CHILD
    female: np.ndarray
    birth_days: np.ndarray
    death_days: np.ndarray       # -1 = alive
    disabled: np.ndarray
    without_care: np.ndarray     # child without parental care
    child_rank: np.ndarray       # 0 = oldest child of the household; -1 for others
    given: pa.Array | None = None        # names and tax ids: drawn once the chunk is truncated
    family_name: pa.Array | None = None
    patronymic: pa.Array | None = None
    tax_id: pa.Array | None = None

    def age_years(self, on_days: int) -> np.ndarray:
        return (on_days - self.birth_days) // 365.25

    @property
    def head(self) -> np.ndarray:
        return self.first

    @property
    def spouse(self) -> np.ndarray:
        """Second member where the household has two or more grown-ups, else -1."""
        grown = self.size - self.children
        return np.where(grown >= 2, self.first + 1, -1)


def mother_of(ppl: People) -> np.ndarray:
    """Per household: the mother (female head, else female second grown-up, else the head)."""
    head, spouse = ppl.head, ppl.spouse
    spouse_female = (spouse >= 0) & ppl.female[np.maximum(spouse, 0)]
    return np.where(ppl.female[head], head, np.where(spouse_female, spouse, head))


def draw_people(rng, ctx: Context, household_count: int) -> People:
    h = household_count
    adults = weighted_choice(rng, h, [0.30, 0.55, 0.15]) + 1
    children = weighted_choice(rng, h, [0.38, 0.22, 0.22, 0.11, 0.04, 0.02, 0.01])
    elderly = weighted_choice(rng, h, [0.70, 0.21, 0.09])
    pensioners = rng.random(h) < 0.14       # elderly living alone or as a couple
    adults[pensioners], children[pensioners] = 0, 0
    elderly[pensioners] = weighted_choice(rng, int(pensioners.sum()), [0.6, 0.4]) + 1
    size = adults + elderly + children
    first = np.concatenate(([0], np.cumsum(size)[:-1]))
    household = np.repeat(np.arange(h), size)
    position = np.arange(len(household)) - first[household]
    category = np.where(position < adults[household], ADULT,
                        np.where(position < (adults + elderly)[household], ELDERLY, CHILD))
    child_rank = np.where(category == CHILD, position - (adults + elderly)[household], -1)
    age_years, female = _draw_ages(rng, household, category, child_rank, adults, children, first)
    end_days = ctx.end_days
    birth_days = end_days - (age_years * 365.25 + rng.random(len(household)) * 365).astype(np.int64)
    # the oldest child is born first: sort each household's children by birth day
    kids = np.flatnonzero(category == CHILD)
    order = np.lexsort((birth_days[kids], household[kids]))
    birth_days[kids] = birth_days[kids][order]
    # about one birth in sixty is a twin: the younger sibling shares the elder's birthday (the child
    # allowance caps the count of children "twins excepted")
    twin = (child_rank > 0) & (rng.random(len(household)) < 0.017)
    birth_days[twin] = birth_days[np.flatnonzero(twin) - 1]
    place = weighted_choice(rng, h, [p[4] for p in ctx.country.places])
    formed = ctx.start_days - rng.integers(365, 25 * 365, h)
    return People(
        household_count=h, place=place, formed_days=formed,
        cyrillic=rng.random(h) < ctx.country.cyrillic_share,
        family=rng.integers(0, len(ctx.country.family_male), h), first=first, size=size, adults=adults,
        children=children, household=household, category=category, female=female, birth_days=birth_days,
        death_days=_draw_deaths(rng, ctx, category, birth_days),
        disabled=rng.random(len(household)) < np.choose(category, [0.05, 0.14, 0.025]),
        without_care=(category == CHILD) & (rng.random(len(household)) < 0.015),
        child_rank=child_rank)


def _draw_ages(rng, household, category, child_rank, adults, children, first):
    n = len(household)
    kid_age = rng.integers(0, 18, n)
    kids = category == CHILD
    oldest_kid = np.maximum.reduceat(np.where(kids, kid_age, 0), first)   # households are never empty
    position = np.arange(n) - first[household]
    parent_age = np.clip(oldest_kid[household] + rng.integers(20, 40, n), 18, 64)
    free_age = rng.integers(18, 65, n)
    has_kids = children[household] > 0
    head_age = np.where(has_kids, parent_age, free_age)
    partner_age = np.clip(head_age[first[household]] + rng.integers(-6, 7, n), 18, 64)
    age = np.where(position == 0, head_age, np.where(position == 1, partner_age, rng.integers(18, 31, n)))
    age = np.where(category == ELDERLY, np.minimum(65 + rng.exponential(9.0, n).astype(np.int64), 98), age)
    age = np.where(kids, kid_age, age)
    single_parent = (adults == 1) & (children > 0)
    head_female = rng.random(len(adults)) < np.where(single_parent, 0.85, 0.35)
    female = rng.random(n) < np.where(category == ELDERLY, 0.6, 0.5)
    female = np.where(position == 0, head_female[household], female)
    partner = (position == 1) & (category != CHILD)
    female = np.where(partner & (rng.random(n) < 0.9), ~head_female[household], female)
    return age, female


def _draw_deaths(rng, ctx: Context, category, birth_days) -> np.ndarray:
    """A few deaths in the last three months of the period, mostly of the elderly."""
    n = len(category)
    dies = rng.random(n) < np.choose(category, [0.0005, 0.008, 0.0001])
    window_start = int(month_start_days(ctx.period - 2))
    day = rng.integers(window_start, ctx.end_days + 1, n)
    return np.where(dies, np.maximum(day, birth_days), -1)


# ---- text columns ---------------------------------------------------------------------------------------

def in_both_scripts(latin: tuple, country: CountryData) -> list:
    """The list followed by its Cyrillic transliteration (Ukrainian lists are Cyrillic already)."""
    if country.code == "ua":
        return list(latin) * 2
    return list(latin) + [latin_to_cyrillic(text, montenegrin=country.code == "me") for text in latin]


def random_names(rng, country: CountryData, n: int, cyrillic: np.ndarray):
    """(given, family) name arrays of n random adults (creditors)."""
    female = rng.random(n) < 0.5
    given, family, _ = _name_columns(rng, country, female, rng.integers(0, len(country.family_male), n), cyrillic)
    return given, family


def _name_columns(rng, country: CountryData, female, family_index, cyrillic):
    """given, family and patronymic columns for persons of known sex, family and script."""
    n = len(female)
    males, females = len(country.male), len(country.female)
    given_index = np.where(female, males + rng.integers(0, females, n), rng.integers(0, males, n))
    given = pick_strings(in_both_scripts(country.male + country.female, country),
                         given_index + np.where(cyrillic, males + females, 0))
    families = len(country.family_male)
    if country.code == "ua":
        family_list = list(country.family_male) + list(country.family_female)
        family = pick_strings(family_list, family_index + np.where(female, families, 0))
        fathers = len(country.patronymic_male)
        patronymic = pick_strings(list(country.patronymic_male) + list(country.patronymic_female),
                                  rng.integers(0, fathers, n) + np.where(female, fathers, 0))
    else:
        family = pick_strings(in_both_scripts(country.family_male, country),
                              family_index + np.where(cyrillic, families, 0))
        patronymic = pa.nulls(n, pa.string())
    return given, family, patronymic


def display_names(country: CountryData, given, family, patronymic) -> pa.Array:
    if country.code == "ua":   # official Ukrainian order: family name, given name, patronymic
        return pc.binary_join_element_wise(family, given, patronymic, " ")
    return pc.binary_join_element_wise(given, family, " ")


def name_people(rng, ctx: Context, ppl: People) -> None:
    """Names and tax ids of every person of the (truncated) chunk."""
    ppl.given, ppl.family_name, ppl.patronymic = _name_columns(
        rng, ctx.country, ppl.female, ppl.family[ppl.household], ppl.cyrillic[ppl.household])
    if ctx.country.code == "ua":
        ppl.tax_id = rnokpp(ppl.birth_days, ppl.female, rng)
    else:
        region = np.array([p[5] for p in ctx.country.places])[ppl.place[ppl.household]]
        ppl.tax_id = jmbg(ppl.birth_days, region, ppl.female, rng)

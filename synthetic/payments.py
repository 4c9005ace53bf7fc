"""Synthetic payments with valid Montenegrin IBANs and addresses, for the demo, tests and benchmarks.

Generated column-wise with numpy (names and towns drawn from small lists that mix Latin diacritics and Cyrillic),
so 100,000 payments take milliseconds and benchmarks measure the writer, not the generator.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from formats.bank_ids import mod97_remainders

FAMILY_NAMES = np.array(["Đukanović", "Vujošević", "Šćekić", "Živković", "Radulović", "Petrović", "Ćetković",
                         "Јовановић", "Ђурђевић", "Popović", "Knežević", "Šćepanović", "Źarić", "Čađenović",
                         "Шевченко", "Mijušković"])
GIVEN_NAMES = np.array(["Milica", "Đorđe", "Jelena", "Nikola", "Šćepan", "Željka", "Марко", "Ана", "Vuk",
                        "Dragana", "Ivan", "Sanja", "Ćazim", "Jovana", "Олена", "Śelma"])
TOWNS = np.array(["Podgorica", "Nikšić", "Pljevlja", "Bijelo Polje", "Cetinje", "Bar", "Herceg Novi",
                  "Berane", "Budva", "Ulcinj", "Kotor", "Tivat", "Rožaje", "Žabljak", "Šavnik", "Plav"])
STREETS = np.array(["Njegoševa", "Bulevar Svetog Petra Cetinjskog", "Slobode", "Hercegovačka",
                    "Ulica Vuka Karadžića", "Маршала Тита", "Jovana Tomaševića", "Crnogorskih serdara"])
REGIONS = np.array(["Središnja regija", "Sjeverna regija", "Primorska regija"])
BANK_CODES = np.array(["510", "520", "530", "535", "540", "550", "555", "560", "565", "570", "575", "580"])
BICS = np.array(["CKBCMEPG", "NLBMMEPG", "PDBPMEPG", "HBMEMEPG", "ADDMMEPG", None], dtype=object)


def _digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    values = rng.integers(0, 10 ** min(width, 18), size=n, dtype=np.int64)
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width, "0")


def montenegrin_ibans(rng: np.random.Generator, n: int) -> pa.Array:
    """n valid ME IBANs: ME + check digits + bank (3) + account (13) + national check (2)."""
    bban = pc.binary_join_element_wise(pa.array(rng.choice(BANK_CODES, n)), _digits(rng, n, 13),
                                       _digits(rng, n, 2), "")
    remainders = mod97_remainders(pc.binary_join_element_wise(bban, "ME00", ""))
    check = pc.utf8_lpad(pc.cast(pa.array(98 - remainders), pa.string()), 2, "0")
    return pc.binary_join_element_wise("ME", check, bban, "")


def synthetic_payments(n: int, post_share: float = 0.2, seed: int = 0, prefix: str = "ME202605") -> pa.Table:
    """n payments, the first (1 - post_share) by bank and the rest by post, EndToEndIds '<prefix>-<number>'."""
    rng = np.random.default_rng(seed)
    post = np.arange(n) >= round(n * (1 - post_share))
    numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), 7, "0")
    family, given = rng.choice(FAMILY_NAMES, n), rng.choice(GIVEN_NAMES, n)
    ibans = montenegrin_ibans(rng, n)
    return pa.table({
        "end_to_end_id": pc.binary_join_element_wise(prefix, numbers, "-"),
        "amount_minor": pa.array(rng.integers(1_000, 150_000, size=n, dtype=np.int64)),
        "channel": pa.array(np.where(post, "post", "bank")),
        "name": pc.binary_join_element_wise(pa.array(given), pa.array(family), " "),
        "family_name": pa.array(family),
        "given_name": pa.array(given),
        "iban": pc.if_else(pa.array(post), pa.scalar(None, pa.string()), ibans),
        "bic": pa.array(np.where(post, None, rng.choice(BICS, n)), pa.string()),
        "street": pa.array(rng.choice(STREETS, n)),
        "house_number": pc.cast(pa.array(rng.integers(1, 200, size=n)), pa.string()),
        "postcode": pa.array(np.char.add("8", rng.integers(1000, 5000, size=n).astype(str))),
        "town": pa.array(rng.choice(TOWNS, n)),
        "district": pa.array(rng.choice(TOWNS, n)),
        "region": pa.array(rng.choice(REGIONS, n)),
        "country": pa.array(np.full(n, "ME")),
        "tax_id": _digits(rng, n, 13),
        "phone": pc.binary_join_element_wise("+3826", _digits(rng, n, 7), ""),
        "remittance": pc.binary_join_element_wise("Socijalna pomoc 05/2026 ", numbers, ""),
    })

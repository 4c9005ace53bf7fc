"""Synthetic payments with valid Montenegrin IBANs and addresses, for the file writers' tests and benchmarks.

Generated column-wise with numpy (names and towns drawn from small lists that mix Latin diacritics and Cyrillic),
so 100,000 payments take milliseconds and benchmarks measure the writer, not the generator. Accounts come from
the register's own IBAN maker (synthetic.identifiers.bank_accounts): each BIC is the BIC of the bank its IBAN
names; one bank payment in six carries no BIC (it is optional in pain.001), so the writers meet both forms.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthetic.arrays import digit_strings
from synthetic.identifiers import bank_accounts
from synthetic.names import COUNTRIES

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
NO_BIC_SHARE = 1 / 6


def synthetic_payments(n: int, post_share: float = 0.2, seed: int = 0, prefix: str = "ME202605") -> pa.Table:
    """n payments, the first (1 - post_share) by bank and the rest by post, EndToEndIds '<prefix>-<number>'."""
    rng = np.random.default_rng(seed)
    post = np.arange(n) >= round(n * (1 - post_share))
    numbers = digit_strings(np.arange(1, n + 1), 7)
    family, given = rng.choice(FAMILY_NAMES, n), rng.choice(GIVEN_NAMES, n)
    ibans, bics = bank_accounts(rng, COUNTRIES["me"], n)
    no_bic = pa.array(post | (rng.random(n) < NO_BIC_SHARE))
    return pa.table({
        "end_to_end_id": pc.binary_join_element_wise(prefix, numbers, "-"),
        "amount_minor": pa.array(rng.integers(1_000, 150_000, size=n, dtype=np.int64)),
        "channel": pa.array(np.where(post, "post", "bank")),
        "name": pc.binary_join_element_wise(pa.array(given), pa.array(family), " "),
        "family_name": pa.array(family),
        "given_name": pa.array(given),
        "iban": pc.if_else(pa.array(post), pa.scalar(None, pa.string()), ibans),
        "bic": pc.if_else(no_bic, pa.scalar(None, pa.string()), bics),
        "street": pa.array(rng.choice(STREETS, n)),
        "house_number": pc.cast(pa.array(rng.integers(1, 200, size=n)), pa.string()),
        "postcode": pa.array(np.char.add("8", rng.integers(1000, 5000, size=n).astype(str))),
        "town": pa.array(rng.choice(TOWNS, n)),
        "district": pa.array(rng.choice(TOWNS, n)),
        "region": pa.array(rng.choice(REGIONS, n)),
        "country": pa.array(np.full(n, "ME")),
        "tax_id": digit_strings(rng.integers(0, 10**13, n), 13),
        "phone": pc.binary_join_element_wise("+3826", digit_strings(rng.integers(0, 10**7, n), 7), ""),
        "remittance": pc.binary_join_element_wise("Socijalna pomoc 05/2026 ", numbers, ""),
    })

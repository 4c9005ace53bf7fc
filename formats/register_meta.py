"""What a register snapshot says about itself: `register.json` beside its tables, naming the country (and so the
rule catalogue and currency) the register belongs to, and the month it was taken in.

The generator writes it; a register made by hand or exported from another system may leave it out, and is then
read exactly as before (the catalogue comes from --rules / --country, else the default). A file that is present
must be well formed: a wrong country is bad input, reported with the file and the fix.
"""
import json
from pathlib import Path

from formats.errors import InputError, problem
from formats.i18n import N_

META_FILE = "register.json"
FORMAT_NAME = "isplata-register"
FORMAT_VERSION = 1
COUNTRY_CODES = ("me", "rs", "ua")


def write_register_meta(folder, country: str, currency: str, period: str, **facts) -> Path:
    """Write register.json into `folder` (sorted keys, so the same register gives the same bytes)."""
    assert country in COUNTRY_CODES, country
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "country": country,
                "currency": currency, "period": period, **facts}
    path = Path(folder) / META_FILE
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_register_meta(folder) -> dict | None:
    """register.json of the snapshot in `folder` (None when there is none); InputError when it is malformed."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([problem(path, None, None, None, N_("not a JSON document ({exc})", exc=exc),
                                  N_("write {\"country\": \"me|rs|ua\"} into it, or delete it"))]) from exc
    if not isinstance(document, dict):
        raise InputError([problem(path, None, None, None, N_("must be a JSON object"),
                                  N_("write {\"country\": \"me|rs|ua\"} into it, or delete it"))])
    country = document.get("country")
    if country not in COUNTRY_CODES:
        raise InputError([problem(path, None, "country", country, N_("unknown country of the register"),
                                  N_("use one of {value} (the country whose benefits the register holds)",
                                     value=', '.join(COUNTRY_CODES)))])
    return document


def register_country(folder) -> str | None:
    """The country the snapshot in `folder` records, or None when it records none."""
    meta = read_register_meta(folder)
    return None if meta is None else meta["country"]

"""register.json: the country a register snapshot records; optional, and checked when present."""
import json

import pytest

from formats.catalogue import load_catalogue
from formats.errors import InputError
from formats.register import read_register
from formats.register_meta import META_FILE, read_register_meta, register_country, write_register_meta
from synthetic.next_month import advance_register
from synthetic.register import generate_register


def test_written_and_read_back(tmp_path):
    path = write_register_meta(tmp_path, "rs", "RSD", "2025-01", seed=3)
    assert path.name == META_FILE
    assert read_register_meta(tmp_path) == {"format": "isplata-register", "format_version": 1, "country": "rs",
                                            "currency": "RSD", "period": "2025-01", "seed": 3}
    assert register_country(tmp_path) == "rs"


def test_a_snapshot_without_it_is_read_as_before(tmp_path):
    generate_register(tmp_path, rights=50, seed=1, period="2025-03", country="me")
    (tmp_path / META_FILE).unlink()
    assert register_country(tmp_path) is None
    read_register(tmp_path, load_catalogue())            # the validated reader does not need it


def test_the_generator_and_its_advance_record_the_country(tmp_path):
    generate_register(tmp_path / "a", rights=80, seed=1, period="2025-03", country="ua")
    advance_register(tmp_path / "a", tmp_path / "b", seed=1)
    meta = json.loads((tmp_path / "b" / META_FILE).read_text())
    assert (meta["country"], meta["currency"], meta["period"], meta["advanced_from"]) == ("ua", "UAH", "2025-04",
                                                                                          "2025-03")


@pytest.mark.parametrize("text, rule", [('{"country": "fr"}', "unknown country"), ("[1, 2]", "JSON object"),
                                        ("{", "not a JSON document"), ('{"period": "2025-01"}', "unknown country")])
def test_a_malformed_file_is_bad_input_naming_the_file(tmp_path, text, rule):
    (tmp_path / META_FILE).write_text(text)
    with pytest.raises(InputError) as caught:
        register_country(tmp_path)
    assert rule in caught.value.problems[0].rule and caught.value.problems[0].file.endswith(META_FILE)

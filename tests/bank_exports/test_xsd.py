"""assert_valid: libxml2's streaming validation where the system has libxml2, lxml otherwise; both refuse the
same broken files, and lxml words the errors."""
from pathlib import Path

import pytest
from lxml import etree

from bank_exports import xsd
from bank_exports.pain001 import write_pain001
from synthetic.payments import synthetic_payments


@pytest.fixture
def written(tmp_path, debtor, options) -> list[Path]:
    result = write_pain001(synthetic_payments(300, seed=2), tmp_path / "files", debtor, options)
    return [tmp_path / "files" / file.name for file in result.files]


def _broken(path: Path, tmp_path: Path, old: bytes, new: bytes) -> Path:
    data = path.read_bytes()
    assert old in data
    broken = tmp_path / f"broken-{path.name}"
    broken.write_bytes(data.replace(old, new, 1))
    return broken


@pytest.mark.parametrize("streaming", [True, False], ids=["libxml2-streaming", "lxml"])
def test_valid_files_pass_and_broken_ones_are_refused_with_lxml_words(written, tmp_path, monkeypatch, streaming):
    if streaming and xsd._Streaming.get() is None:
        pytest.skip("no system libxml2: lxml validates")
    if not streaming:
        monkeypatch.setattr(xsd._Streaming, "get", classmethod(lambda cls: None))
    for path in written:
        assert xsd.root_message(path) == "pain.001.001.09"
        xsd.assert_valid(path)
    bank = next(p for p in written if "-B" in p.name)
    for old, new, words in ((b"<BICFI>", b"<BICFI>x", "BICFI"), (b"<EndToEndId>", b"<EndToEndId>" + b"9" * 40,
                                                                "EndToEndId"),
                            (b"<Cdtr>", b"<Cdtr><Unknown/>", "Unknown")):
        with pytest.raises(xsd.SchemaViolation, match=words):
            xsd.assert_valid(_broken(bank, tmp_path, old, new))
    with pytest.raises(etree.XMLSyntaxError):
        truncated = tmp_path / "truncated.xml"
        truncated.write_bytes(bank.read_bytes()[:5_000])
        xsd.assert_valid(truncated)


def test_streaming_agrees_with_lxml_and_unknown_heads_go_to_lxml(written, tmp_path):
    streaming = xsd._Streaming.get()
    if streaming is None:
        pytest.skip("no system libxml2")
    for path in written:
        assert streaming.valid(path, "pain.001.001.09") == (xsd.validation_errors(path) == [])
    broken = _broken(written[0], tmp_path, b"<NbOfTxs>", b"<NbOfTxs>x")
    assert not streaming.valid(broken, "pain.001.001.09") and xsd.validation_errors(broken)
    commented = tmp_path / "commented.xml"  # something before the root: the head is not trusted
    commented.write_bytes(b"<!-- x --><?pi?>" + written[0].read_bytes().split(b"\n", 1)[1])
    assert xsd.root_message(commented) is None
    xsd.assert_valid(commented)


def test_lxml_validation_on_threads_never_loses_an_invalid_file(written, tmp_path, monkeypatch):
    """Export validates on two threads; each thread has its own compiled schema, so one thread's validation cannot
    empty the error log another thread is about to read (which made an invalid file pass)."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(xsd._Streaming, "get", classmethod(lambda cls: None))
    bank = next(p for p in written if "-B" in p.name)
    broken = _broken(bank, tmp_path, b"<EndToEndId>", b"<EndToEndId>" + b"9" * 40)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(xsd.validation_errors, [broken, bank] * 60))
    assert all(results[0::2]) and not any(results[1::2])

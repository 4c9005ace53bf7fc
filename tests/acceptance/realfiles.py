"""The real bank files of ../shared/realfiles (read-only: tests copy them before anything writes next to them) and
an independent count, by XPath over the whole parsed tree, of the records each should give."""
from pathlib import Path

import pytest
from lxml import etree

REALFILES = Path(__file__).resolve().parents[2] / ".." / "shared" / "realfiles"
FILES = sorted(path for path in REALFILES.rglob("*") if path.is_file() and path.name != "SOURCES.md") \
    if REALFILES.is_dir() else []
NEEDS_FILES = pytest.mark.skipif(not FILES, reason=f"no real bank files at {REALFILES}")
REFUSED = {"invalid_namespace.xml": "no message element"}  # a Document with nothing in it


def ids() -> list[str]:
    return [str(path.relative_to(REALFILES)) for path in FILES]


def local(name: str) -> str:
    return f"*[local-name()='{name}']"


def expected_records(path: Path) -> int:
    """Records the file holds: per camt entry its TxDtls (one record for an entry without any, and for a booked
    batch debit naming a MsgId / PmtInfId but no EndToEndId, no credit detail and no reversal); per pain.002 every
    group, block and transaction status said; per pacs.004 every TxInf."""
    root = etree.parse(str(path)).getroot()
    count = 0
    for entry in root.xpath(f"//{local('Ntry')}"):
        status = "".join(entry.xpath(f"{local('Sts')}//text()")).strip()
        details = entry.xpath(f"{local('NtryDtls')}/{local('TxDtls')}")
        if status and status != "BOOK":  # not booked yet: a status record per detail
            count += max(1, len(details))
            continue
        side = "".join(entry.xpath(f"{local('CdtDbtInd')}/text()")).strip()
        family = "".join(entry.xpath(f".//{local('BkTxCd')}//{local('SubFmlyCd')}/text()")).strip()
        refs = entry.xpath(f"{local('NtryDtls')}/{local('Btch')}/{local('MsgId')} | "
                           f"{local('NtryDtls')}/{local('Btch')}/{local('PmtInfId')} | "
                           f".//{local('Refs')}/{local('MsgId')} | .//{local('Refs')}/{local('PmtInfId')}")
        e2e = entry.xpath(f".//{local('Refs')}/{local('EndToEndId')}/text()")
        reversal = "".join(entry.xpath(f"{local('RvslInd')}/text()")).strip().lower() in ("true", "1")
        credit = entry.xpath(f".//{local('TxDtls')}/{local('CdtDbtInd')}[normalize-space()='CRDT']")
        batch_debit = side == "DBIT" and not reversal and family != "RRTN" and not any(t.strip() for t in e2e) \
            and not credit and refs
        count += 1 if batch_debit or not details else len(details)
    for name in ("GrpSts", "PmtInfSts", "TxSts"):
        count += len(root.xpath(f"//{local(name)}[normalize-space()]"))
    count += len(root.xpath(f"//{local('PmtRtr')}/{local('TxInf')}"))
    return count

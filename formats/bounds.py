"""The ledger's bounds, in one home: what validation refuses is exactly what the ledger would refuse at approve.

formats checks a register against them and ledgers/postings.py checks every batch against them (ledgers may
import formats, not the other way round, so they live here). Amounts share engine.money's AMOUNT_MINOR_MAX.
"""
from engine.money import AMOUNT_MINOR_MAX

ID_MAX = 10**15        # right, payee and account-key ids: keeps right_id * MONTHS inside int64 (recognised() keys)
ID_MIN = 0             # 0 means "none" in a posting; a register id is 1 or more
MONTHS = 2400          # month indexes 0 .. MONTHS - 1 (1970-01 .. 2169-12), the months a posting can be for
MONTH_INDEX_MAX = MONTHS - 1

__all__ = ["AMOUNT_MINOR_MAX", "ID_MAX", "ID_MIN", "MONTHS", "MONTH_INDEX_MAX"]

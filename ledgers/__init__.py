"""The append-only, double-entry, hash-chained ledger on SQLAlchemy Core (SQLite default, PostgreSQL).

Entry points: `open_ledger(url)` -> Ledger (init, append_batch, find_batch, balances, recognised, events,
digest); `PostingsBuilder` to assemble a balanced batch; `verify`, `prove`, `check_proof`, `export` for
auditors. Signs: debit positive, credit negative; amounts int64 minor units.
"""
from ledgers.canonical import GENESIS_HASH
from ledgers.codes import ACCOUNT, ACCOUNT_KINDS, BATCH_KINDS, COMPONENT, LEDGER_COMPONENTS
from ledgers.postings import PostingsBuilder, UnbalancedBatch, account_codes, component_codes
from ledgers.schema import SCHEMA_VERSION
from ledgers.store import BatchRecord, DuplicateBatch, Ledger, LedgerRefused, normalise_url, open_ledger

__all__ = ["ACCOUNT", "ACCOUNT_KINDS", "BATCH_KINDS", "COMPONENT", "GENESIS_HASH", "LEDGER_COMPONENTS",
           "SCHEMA_VERSION", "BatchRecord", "DuplicateBatch", "Ledger", "LedgerRefused", "PostingsBuilder",
           "UnbalancedBatch", "account_codes", "component_codes", "normalise_url", "open_ledger"]

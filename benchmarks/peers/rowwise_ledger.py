"""The ledger append a psycopg user would write: one COPY ... FROM STDIN (FORMAT BINARY) fed row by row, each row
carrying SHA-256(previous hash || the row's canonical bytes) computed in Python, into a table with an
append-only trigger. It is shared/peers/bench_ledger_rowwise.py (the "PG COPY BINARY + sha256 chain" line)
on the comparison's postings. As in that script, the Python tuples are built before the clock starts, which
favours the peer. Works in a private schema that `drop` removes; needs only psycopg (a core dependency)."""
import datetime as dt
import hashlib
import struct
import uuid

import numpy as np
import psycopg

from engine.months import month_first_date

COLUMNS = ("id, batch_id, account_kind, account_key, right_id, payee_id, month, component, amount_minor, "
           "prev_hash, hash")
TYPES = ["int8", "int8", "int2", "int8", "int8", "int8", "date", "int2", "int8", "bytea", "bytea"]
PACK = struct.Struct(">qqhqqqihq").pack  # == int8send, int8send, int2send, int8send x3, date_send, int2send, int8send
PG_EPOCH_ORDINAL = dt.date(2000, 1, 1).toordinal()
GENESIS = bytes(32)
DDL = """CREATE TABLE {schema}.posting (id bigint PRIMARY KEY, batch_id bigint NOT NULL,
 account_kind smallint NOT NULL, account_key bigint NOT NULL, right_id bigint NOT NULL, payee_id bigint NOT NULL,
 month date NOT NULL, component smallint NOT NULL, amount_minor bigint NOT NULL,
 prev_hash bytea NOT NULL, hash bytea NOT NULL);
CREATE FUNCTION {schema}.no_mutation() RETURNS trigger LANGUAGE plpgsql AS
 $$BEGIN RAISE EXCEPTION 'append-only: % refused', TG_OP; END$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.posting
 FOR EACH STATEMENT EXECUTE FUNCTION {schema}.no_mutation();"""


def posting_rows(postings, batch_id: int = 1, component: int = 1) -> list[tuple]:
    """The postings as the Python tuples a row-wise writer handles: (id, batch, account kind, account key,
    right, payee, month as a date, component, amount)."""
    months = {int(m): month_first_date(int(m)) for m in np.unique(postings.month)}
    count = postings.count
    return list(zip(range(1, count + 1), [batch_id] * count, postings.account_kind.tolist(),
                    postings.account_key.tolist(), postings.right_id.tolist(), postings.payee_id.tolist(),
                    [months[m] for m in postings.month.tolist()], [component] * count,
                    postings.amount_minor.tolist()))


def chain(rows: list[tuple], prev: bytes = GENESIS) -> list[tuple]:
    """Each row extended with (prev_hash, hash), hashed one row at a time in Python."""
    chained = []
    for row in rows:
        digest = hashlib.sha256(prev + PACK(row[0], row[1], row[2], row[3], row[4], row[5],
                                            row[6].toordinal() - PG_EPOCH_ORDINAL, row[7], row[8])).digest()
        chained.append(row + (prev, digest))
        prev = digest
    return chained


class RowwiseLedger:
    """A private schema holding one posting table; reset() recreates it empty, append() is the timed work."""

    def __init__(self, url: str):
        self.schema = "bench_rowwise_" + uuid.uuid4().hex[:10]
        self.conn = psycopg.connect(url)
        self.conn.execute(f"CREATE SCHEMA {self.schema}")
        self.conn.commit()

    def reset(self) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS {self.schema}.posting")
        self.conn.execute(f"DROP FUNCTION IF EXISTS {self.schema}.no_mutation()")
        self.conn.execute(DDL.format(schema=self.schema))
        self.conn.commit()

    def append(self, rows: list[tuple]) -> bytes:
        """Chains and copies every row in one transaction; returns the chain head."""
        chained = chain(rows)
        with self.conn.cursor().copy(f"COPY {self.schema}.posting ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(TYPES)
            for row in chained:
                cp.write_row(row)
        self.conn.commit()
        return chained[-1][-1]

    def totals(self) -> tuple[int, int, int]:
        """(postings, sum of amounts, sum of absolute amounts) as stored."""
        row = self.conn.execute(f"SELECT count(*), coalesce(sum(amount_minor), 0), "
                                f"coalesce(sum(abs(amount_minor)), 0) FROM {self.schema}.posting").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def drop(self) -> None:
        self.conn.rollback()
        self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE")
        self.conn.commit()
        self.conn.close()

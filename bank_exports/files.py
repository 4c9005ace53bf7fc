"""What every writer hands back (one WrittenFile per file) and how files are written: hashed while written, under
a temporary name, renamed into place only when every file of the export is complete.

A failed export leaves no partial file behind, and the SHA-256 in the manifest is the hash of exactly the bytes
that went to disk, computed on the way out instead of by reading the file again.
"""
import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PART_SUFFIX = ".part"
WRITE_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class WrittenFile:
    name: str                   # file name inside the export folder
    sha256: str                 # hex digest of the bytes on disk
    msg_id: str | None          # GrpHdr/MsgId; None for files without one (postal list)
    channel: str                # bank | post
    currency: str
    nb_of_txs: int
    ctrl_sum_minor: int
    kind: str                   # pain.001.001.09 | postal-list | camt.054.001.08 | ...

    def manifest_entry(self) -> dict:
        return asdict(self)


class HashingWriter:
    """Binary writer to `<path>.part` that hashes what it writes; `commit()` renames it to `path`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + PART_SUFFIX)
        self._file = open(self.part, "wb", buffering=WRITE_BUFFER_BYTES)
        self._hash = hashlib.sha256()

    def write(self, data) -> None:
        self._hash.update(data)
        self._file.write(data)

    def write_text(self, text: str) -> None:
        self.write(text.encode("utf-8"))

    def close(self) -> str:
        """Close the temporary file; returns the hex SHA-256 of what was written."""
        self._file.close()
        return self._hash.hexdigest()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.part.unlink(missing_ok=True)

    def commit(self) -> None:
        assert self._file.closed, "close() before commit()"
        os.replace(self.part, self.path)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

"""What every converter shares: atomic output and a report of what was kept."""
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterable, Union

from spacy.tokens import Doc, DocBin
from wasabi import msg


def write_docbin(docs: Iterable[Doc], path: Union[str, Path]) -> int:
    """Write docs to a `.spacy` file atomically (a temporary file in the same
    folder, renamed when complete), keeping `doc._` data. Returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    docbin = DocBin(store_user_data=True)
    n = 0
    for doc in docs:
        docbin.add(doc)
        n += 1
    write_bytes_atomic(docbin.to_bytes(), path)
    return n


def write_bytes_atomic(data: bytes, path: Union[str, Path]) -> None:
    """Write bytes to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as file_:
            file_.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ConversionReport:
    """Counts of what a converter kept and skipped, and why."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kept: Counter = Counter()
        self.skipped: Counter = Counter()

    def keep(self, what: str, n: int = 1) -> None:
        self.kept[what] += n

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def as_dict(self) -> dict:
        return {"kept": dict(self.kept), "skipped": dict(self.skipped)}

    def print(self) -> None:
        msg.divider(self.name)
        if self.kept:
            msg.table([(k, v) for k, v in sorted(self.kept.items())], header=("kept", "count"))
        if self.skipped:
            msg.warn("Skipped:")
            msg.table([(k, v) for k, v in sorted(self.skipped.items())], header=("reason", "count"))
        else:
            msg.good("Nothing skipped.")

"""What every converter shares: atomic output, image ids and a report of what
was kept. (`.spacy` files are written by `mcr_spacy.training.io.write_docbin`.)"""
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Union

from wasabi import msg

IMAGE_SUFFIX = ".jpg"


def normalize_image_id(image_id: Any) -> str:
    """An image id as the data files' keys spell it: the text without
    surrounding whitespace or a ".jpg" suffix, and a number without leading
    zeros ("1016887272", 1016887272 and "1016887272.jpg" are all "1016887272";
    "007" is "7"). Other ids are kept as they are."""
    text = str(image_id).strip()
    if text.endswith(IMAGE_SUFFIX):
        text = text[: -len(IMAGE_SUFFIX)]
    if text.isascii() and text.isdigit():
        return str(int(text))
    return text


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

    def print(self) -> None:
        msg.divider(self.name)
        if self.kept:
            msg.table([(k, v) for k, v in sorted(self.kept.items())], header=("kept", "count"))
        if self.skipped:
            msg.warn("Skipped:")
            msg.table([(k, v) for k, v in sorted(self.skipped.items())], header=("reason", "count"))
        else:
            msg.good("Nothing skipped.")

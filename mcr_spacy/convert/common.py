"""What every converter shares: atomic output, image ids and a report of what
was kept. (`.spacy` files are written by `mcr_spacy.training.io.write_docbin`.)"""
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Tuple, Union

import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..errors import DataFormatError
from ..training.io import write_docbin

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


def parse_json(text: Union[str, bytes], where: str, fix: str) -> Any:
    """JSON from text or UTF-8 bytes; a DataFormatError naming `where` and
    the `fix` for bytes that are not UTF-8, text that is not JSON, and JSON
    nested too deeply for Python's reader."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf8")
        return json.loads(text)
    except UnicodeDecodeError as err:
        raise DataFormatError(
            f"{where}: not UTF-8 text (bad byte at offset {err.start}). Re-encode it as UTF-8."
        ) from None
    except json.JSONDecodeError as err:
        raise DataFormatError(f"Cannot parse {where}: not valid JSON ({err}). {fix}") from None
    except RecursionError:
        raise DataFormatError(f"{where}: JSON nested too deeply to read. {fix}") from None


def load_json(path: Union[str, Path], what: str) -> Any:
    """The JSON in a file (`parse_json`); `what` says what the file holds."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataFormatError(f"Cannot read {path} ({what}): {err}.") from err
    return parse_json(
        data[3:] if data.startswith(b"\xef\xbb\xbf") else data,
        f"{path} ({what})",
        "The file may be truncated or damaged: download or generate it again.",
    )


def image_size_from(record: Any, keys: Iterable[Tuple[str, str]], where: str) -> Optional[Tuple[float, float]]:
    """`(width, height)` from the first pair of `keys` that `record` has, or
    None; a DataFormatError for values that are not positive finite numbers."""
    for w_key, h_key in keys:
        if w_key in record and h_key in record:
            values = (record[w_key], record[h_key])
            try:
                size = tuple(float(v) for v in values if not isinstance(v, bool))
            except (TypeError, ValueError):
                size = ()
            if len(size) != 2 or not all(math.isfinite(v) and v > 0 for v in size):
                raise DataFormatError(
                    f"{where}: the image size {w_key!r}, {h_key!r} is {values[0]!r}, {values[1]!r}; "
                    f"it must be two positive numbers of pixels (or absent)."
                )
            return size
    return None


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


def convert_file(
    read: Callable[..., Iterable[Doc]],
    command: str,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    lang: str = "en",
    **options: Any,
) -> "ConversionReport":
    """Read `input_path` with `read(input_path, vocab, report=..., **options)`
    into a blank `lang` vocab and write the docs to one `.spacy` file
    (atomically: on an error nothing is written). Returns the report of what
    was kept and skipped."""
    report = ConversionReport(f"{command} {Path(input_path).name}")
    vocab: Vocab = spacy.blank(lang).vocab
    write_docbin(read(input_path, vocab, report=report, **options), output_path)
    return report

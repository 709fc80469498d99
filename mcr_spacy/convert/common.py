"""What every converter shares: atomic output, image ids and a report of what
was kept. (`.spacy` files are written by `mcr_spacy.training.io.write_docbin`.)"""
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Union

import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

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

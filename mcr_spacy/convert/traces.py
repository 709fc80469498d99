"""Mouse traces on the tokens of a doc: `doc._.trace_boxes` as float32
`[len(doc), 5]`, one normalised `x1, y1, x2, y2, area` box per token (the
extent of the trace while the token was spoken; zeros where there is none).

Both trace sources end in this layout:
- `flk30k_LN_trace_box/<id>.npy`: one box per narration word as the
  flk30k_LN preprocessing splits it (lower case, punctuation dropped,
  `ln_words`); each token gets the box of the word it is part of.
- Localized Narratives `traces` (time-stamped points) with `timed_caption`:
  one box per utterance (`trace_boxes_from_ln` in `ln.py`), the utterances
  found in the caption in order; each token gets its utterance's box.
"""
import re
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc

from ..errors import DataFormatError, Errors
from .common import ConversionReport

LN_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def ln_words(text: str) -> List[Tuple[str, int, int]]:
    """Narration words as the flk30k_LN preprocessing keeps them: lower case,
    punctuation dropped; with their character offsets in `text`."""
    return [(m.group(0), m.start(), m.end()) for m in LN_WORD.finditer(text.lower())]


def boxes_on_tokens(doc: Doc, char_spans: Sequence[Tuple[int, int]], boxes: numpy.ndarray) -> numpy.ndarray:
    """Per-token boxes `[len(doc), 5]` from boxes of character spans (words or
    utterances): each token takes the box of the first span it overlaps."""
    out = numpy.zeros((len(doc), 5), dtype="float32")
    taken = numpy.zeros((len(doc),), dtype="bool")
    for (start, end), box in zip(char_spans, numpy.asarray(boxes, dtype="float32")):
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None or span.end <= span.start:
            continue
        free = ~taken[span.start : span.end]
        out[span.start : span.end][free] = box
        taken[span.start : span.end] = True
    return out


def utterance_spans(caption: str, utterances: Sequence[str]) -> List[Optional[Tuple[int, int]]]:
    """Character span of each utterance in `caption`, found in order (case
    and surrounding punctuation ignored); None for one that is not found."""
    lowered = caption.lower()
    spans: List[Optional[Tuple[int, int]]] = []
    offset = 0
    for utterance in utterances:
        word = utterance.strip().lower().strip(".,;:!?\"'()")
        found = lowered.find(word, offset) if word else -1
        if found < 0:
            spans.append(None)
            continue
        spans.append((found, found + len(word)))
        offset = found + len(word)
    return spans


def fit_word_trace(
    word_boxes: numpy.ndarray, n_words: int, report: ConversionReport, strict: bool = False,
    where: str = "", image_id: str = "",
) -> Optional[numpy.ndarray]:
    """The first `n_words` rows of a per-word trace. A trace longer than the
    words (a narration cut to the labels' length) loses its extra rows
    (counted); a shorter one does not fit the narration and is skipped and
    counted (an error with `strict`)."""
    if len(word_boxes) < n_words:
        if strict:
            raise DataFormatError(Errors.E470.format(
                path=where, image_id=image_id, n_rows=len(word_boxes), n_words=n_words
            ))
        report.skip("traces with fewer word boxes than the narration has words")
        return None
    if len(word_boxes) > n_words:
        report.keep("trace rows past the narration's last word, dropped", len(word_boxes) - n_words)
    return word_boxes[:n_words]


def load_word_trace(path: Path, image_id: str) -> Optional[numpy.ndarray]:
    """A `flk30k_LN_trace_box/<id>.npy` file as float32 `[T, 5]`, or None
    when there is no such file."""
    if not path.is_file():
        return None
    try:
        trace = numpy.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DataFormatError(f"Cannot read the trace boxes {path} ({err}); the file is corrupt.") from err
    trace = numpy.asarray(trace, dtype="float32")
    if trace.ndim != 2 or trace.shape[1] != 5 or not numpy.all(numpy.isfinite(trace)):
        raise DataFormatError(
            f"{path}: trace boxes of image {image_id} must be finite floats of shape "
            f"[T, 5] (normalised x1, y1, x2, y2, area), got shape {list(trace.shape)}."
        )
    return trace


def attach_traces(docs: Sequence[Doc], trace_dir: Path, *, strict: bool = False) -> ConversionReport:
    """Set `doc._.trace_boxes` of each doc from `trace_dir/<image id>.npy` (the
    image id of `doc._.image_regions`), replacing what it had. Docs without
    an image id or a trace file are counted and keep no traces."""
    report = ConversionReport("attach-traces")
    for doc in docs:
        regions = doc._.image_regions
        image_id = None if regions is None else regions.image_id
        if image_id is None:
            report.skip("docs without an image id")
            doc._.trace_boxes = None
            continue
        path = Path(trace_dir) / f"{image_id}.npy"
        word_boxes = load_word_trace(path, str(image_id))
        if word_boxes is None:
            report.skip("docs whose image has no trace file")
            doc._.trace_boxes = None
            continue
        words = ln_words(doc.text)
        fitted = fit_word_trace(word_boxes, len(words), report, strict, str(path), str(image_id))
        doc._.trace_boxes = None if fitted is None else boxes_on_tokens(doc, [(a, b) for _, a, b in words], fitted)
        if fitted is not None:
            report.keep("docs with trace boxes")
    report.keep("docs", len(docs))
    return report


def shuffle_traces(docs: Sequence[Doc], seed: int = 0) -> ConversionReport:
    """Make each doc's traces pure noise: its per-token boxes in a random order
    (they still point at things in the image, but not at what is named)."""
    rng = numpy.random.default_rng(seed)
    report = ConversionReport("shuffle-traces")
    for doc in docs:
        trace = doc._.trace_boxes
        if trace is None:
            report.skip("docs without trace boxes")
            continue
        trace = numpy.asarray(trace, dtype="float32")
        doc._.trace_boxes = trace[rng.permutation(len(trace))]
        report.keep("docs with shuffled traces")
    return report

"""Annotating (image, text) pairs with a trained pipeline: reading the pairs,
giving the pipeline mentions when it takes them from `doc.spans`, and the
results as plain JSON (what `python -m mcr_spacy annotate` writes)."""
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence

from spacy.language import Language
from spacy.tokens import Doc, SpanGroup

from ..annotation.clusters import get_cluster_groups
from ..errors import Errors
from ..pipeline.mentions import create_noun_chunk_mentions


class Pair(NamedTuple):
    """One record to annotate: its number (line of the input, from 1), the
    image path and the narration."""

    record: int
    image: Path
    text: str


class Problem(NamedTuple):
    """A record that was skipped: its number, its image path and why."""

    record: int
    image: Optional[str]
    reason: str

    def message(self, source: str) -> str:
        where = f"{source}, record {self.record}" + (f" (image {self.image})" if self.image else "")
        return Errors.E820.format(where=where, problem=self.reason)


def read_pairs(path: Path) -> Iterator[Any]:
    """Yield a `Pair` per good line of a JSONL file of `{"image": path, "text":
    narration}` records (image paths relative to the file's folder) and a
    `Problem` per bad one; blank lines are passed over."""
    with path.open("r", encoding="utf8") as file_:
        for number, line in enumerate(file_, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                yield Problem(number, None, f"not valid JSON ({err.msg} at column {err.colno})")
                continue
            if not isinstance(record, dict):
                yield Problem(number, None, f"a JSON {type(record).__name__}, not an object")
                continue
            image, text = record.get("image"), record.get("text")
            if not isinstance(image, str) or not image.strip():
                yield Problem(number, None, "no \"image\" path")
            elif not isinstance(text, str) or not text.strip():
                yield Problem(number, image, "no \"text\" (a record needs a narration)")
            else:
                yield Pair(number, (path.parent / image) if not Path(image).is_absolute() else Path(image), text)


def mention_key(nlp: Language, component: str) -> Optional[str]:
    """The `doc.spans` key the component takes its mentions from, or None when
    its mention getter finds them itself (a parser or entity recognizer)."""
    getter = nlp.get_pipe_config(component).get("mention_getter", {})
    if getter.get("@misc") == "mcr_spacy.span_group_mentions.v1":
        return getter.get("key", "mentions")
    return None


def set_parser_mentions(parser: Language, docs: Sequence[Doc], key: str) -> None:
    """Noun chunks and pronouns found by `parser` (a pipeline with a dependency
    parser, e.g. en_core_web_sm) as `doc.spans[key]`, mapped by character
    offsets onto the docs' own tokens."""
    get_mentions = create_noun_chunk_mentions()
    for doc, parsed in zip(docs, parser.pipe([doc.text for doc in docs])):
        spans = [doc.char_span(s.start_char, s.end_char, alignment_mode="expand") for s in get_mentions(parsed)]
        doc.spans[key] = SpanGroup(doc, name=key, spans=sorted({(s.start, s.end): s for s in spans if s is not None}.values()))


def doc_result(doc: Doc, pair: Pair, prefix: str, mentions_key: str) -> Dict[str, Any]:
    """A doc's mentions (character offsets, box, score, region and its label)
    and clusters (their mentions by index, box and score) as plain JSON."""
    regions = doc._.image_regions
    mentions = list(doc.spans[mentions_key]) if mentions_key in doc.spans else []
    index = {(span.start, span.end): i for i, span in enumerate(mentions)}
    rows = []
    for span in mentions:
        grounding = span._.grounding or {}
        region = grounding.get("region")
        label = regions.labels[region] if regions is not None and regions.labels and region is not None else None
        rows.append({
            "start": span.start_char, "end": span.end_char, "text": span.text, "box": grounding.get("box"),
            "score": grounding.get("score"), "region": region, "label": label,
        })
    clusters = []
    for _, group in get_cluster_groups(doc, prefix):
        grounding = group.attrs.get("grounding") or {}
        clusters.append({
            "mentions": [index[(span.start, span.end)] for span in group if (span.start, span.end) in index],
            "box": grounding.get("box"), "score": grounding.get("score"),
        })
    return {
        "record": pair.record,
        "image": str(pair.image),
        "image_size": None if regions is None else list(regions.image_size),
        "text": doc.text,
        "mentions": rows,
        "clusters": clusters,
    }

"""Docs from pre-tokenized text with clusters given as token spans, shared by
the jsonlines and CoNLL converters."""
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, SpanGroup
from spacy.vocab import Vocab

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import DataFormatError
from ..annotation.clusters import cluster_key
from .common import ConversionReport

TokenSpan = Tuple[int, int]  # [start, end) in tokens
DOC_KEY = "doc_key"  # doc.user_data key holding the document's name in its source file


def read_text_lines(path: Path) -> Iterator[Tuple[int, str]]:
    """Yield `(line number, line)` from a UTF-8 text file (a leading byte-order
    mark is dropped); a line that is not UTF-8 raises a DataFormatError."""
    with path.open("rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as err:
                raise DataFormatError(
                    f"{path}, line {line_no}: not UTF-8 text (bad byte at column "
                    f"{err.start + 1}). Re-encode the file as UTF-8."
                ) from None
            if line_no == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line_no, line


def doc_from_token_clusters(
    vocab: Vocab,
    sentences: Sequence[Sequence[str]],
    clusters: Optional[Sequence[Sequence[TokenSpan]]],
    *,
    doc_key: Optional[str],
    where: str,
    report: ConversionReport,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = GOLD_MENTIONS_KEY,
) -> Doc:
    """Build a Doc whose tokens are exactly the given words (one space between
    tokens, sentence starts from `sentences`), with each cluster in
    `doc.spans["{span_cluster_prefix}_{i}"]` and every mention in `doc.spans[mentions_key]`.

    clusters: each a list of `(start, end)` token spans, end exclusive, over the
        flattened document; already checked to lie inside it. None for an
        unlabelled document: no clusters and no `doc.spans[mentions_key]`.
    where: names the record in messages (file, line, doc key).

    A mention repeated within a cluster is kept once; a mention already in an
    earlier cluster stays there only (as the CoNLL reference scorer does); a
    cluster left with no mention is dropped. Each of these is counted in
    `report`. Gold boxes are not annotated (`span._.grounding` stays None).
    """
    words: List[str] = []
    sent_starts: List[bool] = []
    for sentence in sentences:
        if len(sentence) == 0:
            report.skip("empty sentence")
            continue
        for i, word in enumerate(sentence):
            if not isinstance(word, str) or word == "":
                raise DataFormatError(
                    f"{where}: token {len(words)} is {word!r}; tokens must be non-empty "
                    f"strings. Remove the token or replace it with a placeholder."
                )
            words.append(word)
            sent_starts.append(i == 0)
    spaces = [True] * len(words)
    if spaces:
        spaces[-1] = False
    doc = Doc(vocab, words=words, spaces=spaces, sent_starts=sent_starts if words else None)
    if doc_key is not None:
        doc.user_data[DOC_KEY] = doc_key
    if clusters is None:
        report.keep("docs")
        report.keep("tokens", len(doc))
        return doc
    seen: Dict[TokenSpan, int] = {}
    mentions = []
    n_clusters = 0
    for cluster in clusters:
        if len(cluster) == 0:
            report.skip("empty cluster in the input")
            continue
        spans = []
        in_cluster = set()
        for start, end in cluster:
            key = (int(start), int(end))
            if key in in_cluster:
                report.skip("mention repeated within its cluster (kept once)")
                continue
            if key in seen:
                report.skip("mention already in an earlier cluster (kept there only)")
                continue
            in_cluster.add(key)
            spans.append(doc[key[0] : key[1]])
        if not spans:
            report.skip("cluster left empty by duplicate mentions")
            continue
        n_clusters += 1
        for span in spans:
            seen[(span.start, span.end)] = n_clusters
        name = cluster_key(span_cluster_prefix, n_clusters)
        doc.spans[name] = SpanGroup(doc, name=name, spans=spans)
        mentions.extend(spans)
        report.keep("clusters")
        report.keep("mentions", len(spans))
        if len(spans) == 1:
            report.keep("singleton clusters")
    mentions.sort(key=lambda span: (span.start, span.end))
    doc.spans[mentions_key] = SpanGroup(doc, name=mentions_key, spans=mentions)
    report.keep("docs")
    report.keep("tokens", len(doc))
    return doc

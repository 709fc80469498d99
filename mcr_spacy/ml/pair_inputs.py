"""What the antecedent scorer knows of each mention besides its vector: its
type (pronoun class, or semantic class and number of a noun phrase), ids of
its normalised text and head word (equal ids = string / head match), its
sentence and speaker, and for every pair of a doc's mentions their word
overlap and, for a pronoun, where the candidate stands among the earlier
mentions that agree with it (what the string-match baseline's pronoun rule reads),
and what tells how likely a noun phrase is to start an entity: whether an
earlier noun phrase has its text or head, its determiner, and whether it
follows a copula."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc, Span

from ..annotation.mention_attributes import (
    compatible, content_words, determiner_class, follows_predicate_cue, head_word, mention_type,
    normalized_text, pronoun_class,
)

PAIR_ATTRIBUTES = ("types", "text_ids", "head_ids", "sentences", "speakers", "anaphoricity")
"""The per-mention attributes."""
PAIR_MATRICES = ("overlap", "agreement")
"""The per-pair attributes, `[n, n]` each."""
AGREEMENT_RANKS = 3
"""Agreeing candidates nearer than this many get their own rank."""
ANAPHORICITY_VALUES = 13
"""0 for a pronoun; for a noun phrase 1 + 6 * (an earlier noun phrase has its
text or head) + 2 * its determiner class + (it follows a copula)."""


def doc_pair_inputs(doc: Doc, spans: numpy.ndarray, vocab: Dict[str, int]) -> Dict[str, numpy.ndarray]:
    """Per-mention attributes of one doc's mentions (token offsets `[n, 2]`):
    "types", "text_ids", "head_ids" (0: a pronoun, which matches nothing by
    string), "sentences", "speakers" (0: unknown), "anaphoricity" (see
    `anaphoricity`) as `[n]` arrays and
    "overlap" `[n, n]` (0: a pronoun, 1: no shared content word, 2: shared)
    and "agreement" `[n, n]` (see `agreement_ranks`). `vocab` gives ids to
    texts and heads; it grows as new strings come."""
    mentions = [doc[int(start):int(end)] for start, end in spans]
    n = len(mentions)
    types = numpy.zeros((n,), dtype="int64")
    text_ids = numpy.zeros((n,), dtype="int64")
    head_ids = numpy.zeros((n,), dtype="int64")
    words: List[Optional[frozenset]] = []
    for i, span in enumerate(mentions):
        kind, is_pronoun = mention_type(span)
        types[i] = kind
        if is_pronoun:
            words.append(None)
            continue
        text_ids[i] = _id(vocab, normalized_text(span))
        head_ids[i] = _id(vocab, "head:" + head_word(span))
        words.append(content_words(span))
    overlap = numpy.zeros((n, n), dtype="int64")
    for i in range(n):
        if words[i] is None:
            continue
        for j in range(i):
            if words[j] is not None:
                overlap[i, j] = overlap[j, i] = 2 if words[i] & words[j] else 1
    sentences, speakers = _sentences_and_speakers(doc, spans)
    return {"types": types, "text_ids": text_ids, "head_ids": head_ids, "sentences": sentences,
            "speakers": speakers, "anaphoricity": anaphoricity(mentions, text_ids, head_ids),
            "overlap": overlap, "agreement": agreement_ranks(mentions)}


def anaphoricity(mentions: Sequence[Span], text_ids: numpy.ndarray, head_ids: numpy.ndarray) -> numpy.ndarray:
    """`[n]` values (see ANAPHORICITY_VALUES) of mentions in the order given,
    with the text and head ids of `doc_pair_inputs` (one vocabulary, so a
    text's id never equals a head's; 0 for a pronoun)."""
    values = numpy.zeros((len(mentions),), dtype="int64")
    seen = set()
    for i, span in enumerate(mentions):
        ids = {int(text_ids[i]), int(head_ids[i])} - {0}
        if not ids:
            continue
        matched = bool(ids & seen)
        values[i] = 1 + 6 * int(matched) + 2 * determiner_class(span) + int(follows_predicate_cue(span))
        seen |= ids
    return values


def agreement_ranks(mentions: Sequence[Span]) -> numpy.ndarray:
    """`[n, n]` for mention i (a third-person pronoun) and an earlier mention j
    (in the order given): 1 when j does not agree with it in gender, number and
    animacy or overlaps it, else 2 + the number of agreeing mentions between
    them (capped at 1 + AGREEMENT_RANKS); 0 for every other pair. Rank 2, the
    nearest agreeing mention, is the antecedent the rule baseline picks."""
    n = len(mentions)
    ranks = numpy.zeros((n, n), dtype="int64")
    for i, span in enumerate(mentions):
        cls = pronoun_class(span)
        if cls is None:
            continue
        found = 0
        for j in range(i - 1, -1, -1):
            other = mentions[j]
            if other.end_char > span.start_char or not compatible(cls, other):
                ranks[i, j] = 1
                continue
            ranks[i, j] = 2 + min(found, AGREEMENT_RANKS - 1)
            found += 1
    return ranks


def _id(vocab: Dict[str, int], key: str) -> int:
    if not key or key == "head:":
        return 0
    return vocab.setdefault(key, len(vocab) + 1)


def _sentences_and_speakers(doc: Doc, spans: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Sentence index of each mention's first token (from the doc's sentence
    boundaries, else counted at sentence-final punctuation) and its speaker id
    (from `doc._.speakers`, one name per token; 0 when unknown)."""
    starts = spans[:, 0].astype("int64") if len(spans) else numpy.zeros((0,), dtype="int64")
    if doc.has_annotation("SENT_START"):
        sent_start = numpy.asarray([token.is_sent_start is True for token in doc], dtype="int64")
        sentence_of_token = numpy.cumsum(sent_start) - sent_start[0] if len(doc) else sent_start
    else:
        final = numpy.asarray([token.text in (".", "!", "?") for token in doc], dtype="int64")
        sentence_of_token = numpy.cumsum(final) - final
    sentences = sentence_of_token[starts] if len(doc) else numpy.zeros((len(starts),), dtype="int64")
    speakers = numpy.zeros((len(starts),), dtype="int64")
    names: Optional[Sequence[str]] = doc._.speakers if doc.has_extension("speakers") else None
    if names:
        ids: Dict[str, int] = {}
        speakers = numpy.asarray([ids.setdefault(names[int(s)], len(ids) + 1) for s in starts], dtype="int64")
    return sentences.astype("int64"), speakers

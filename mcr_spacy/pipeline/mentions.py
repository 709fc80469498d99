"""Mention getters: functions `Doc -> List[Span]` selectable in config."""
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.util import registry

from ..defaults import MENTION_PRONOUNS, MENTION_STOP_LIST
from ..errors import ConfigError, Errors
from ..annotation.gold import DEFAULT_MENTIONS_KEY, doc_name

MentionGetter = Callable[[Doc], List[Span]]

DEFAULT_STOP_PHRASES = MENTION_STOP_LIST
PRONOUNS = MENTION_PRONOUNS


def is_sorted_unique(offsets: Sequence[Tuple[int, int]]) -> bool:
    """Whether `(start, end)` offsets are strictly increasing (sorted, no repeats)."""
    return all(a < b for a, b in zip(offsets, offsets[1:]))


def _sorted_unique(spans: Iterable[Span]) -> List[Span]:
    spans = list(spans)
    offsets = [(span.start, span.end) for span in spans]
    if is_sorted_unique(offsets):
        return spans  # already sorted and unique: the usual case
    seen = {}
    for key, span in zip(offsets, spans):
        seen.setdefault(key, span)
    return [seen[key] for key in sorted(seen)]


@registry.misc("mcr_spacy.noun_chunk_mentions.v1")
def create_noun_chunk_mentions(
    stop_phrases: Optional[List[str]] = None,
    pronouns: Optional[List[str]] = None,
    include_pronouns: bool = True,
    include_possessives: bool = False,
) -> MentionGetter:
    """Noun chunks and pronouns from a dependency parser, minus a stop list of
    phrases (compared lower-cased, without a leading determiner-free match).

    stop_phrases: phrases never taken as mentions (default: picture/narrator
        phrases such as "the image", "the left", "we").
    pronouns: words taken as pronoun mentions (default: the CIN pronoun list).
    include_pronouns: add pronouns that are not inside a noun chunk.
    include_possessives: also add possessive pronouns inside a noun chunk
        ("his" of "his hair") as mentions of their own, as VisPro and
        OntoNotes annotate them.
    """
    stops = set(p.lower() for p in (DEFAULT_STOP_PHRASES if stop_phrases is None else stop_phrases))
    pronoun_set = set(p.lower() for p in (PRONOUNS if pronouns is None else pronouns))

    def get_noun_chunk_mentions(doc: Doc) -> List[Span]:
        if len(doc) == 0:
            return []
        if not doc.has_annotation("DEP"):
            raise ConfigError(Errors.E119.format(doc=doc_name(doc)))
        spans = [chunk for chunk in doc.noun_chunks if chunk.text.lower() not in stops]
        if include_pronouns:
            covered = set()
            for span in spans:
                covered.update(range(span.start, span.end))
            for token in doc:
                if (
                    (token.i not in covered or (include_possessives and token.dep_ == "poss"))
                    and token.lower_ in pronoun_set
                    and token.lower_ not in stops
                    and token.pos_ in ("PRON", "DET", "")
                ):
                    spans.append(doc[token.i : token.i + 1])
        return _sorted_unique(spans)

    return get_noun_chunk_mentions


@registry.misc("mcr_spacy.span_group_mentions.v1")
def create_span_group_mentions(key: str = DEFAULT_MENTIONS_KEY) -> MentionGetter:
    """Mentions already stored in `doc.spans[key]` (gold mentions, or the output
    of a trained `span_finder`). A doc without the key has no mentions."""

    def get_span_group_mentions(doc: Doc) -> List[Span]:
        if key not in doc.spans:
            return []
        return _sorted_unique(doc.spans[key])

    return get_span_group_mentions


@registry.misc("mcr_spacy.span_group_or_entity_mentions.v1")
def create_span_group_or_entity_mentions(
    key: str = DEFAULT_MENTIONS_KEY, labels: Optional[List[str]] = None
) -> MentionGetter:
    """Mentions given in `doc.spans[key]` when the doc has that key (gold
    mentions, the paper's protocol), else the doc's entities with one of
    `labels` (all entities when None): the output of an entity recognizer
    trained as a mention detector, for end-to-end use."""
    label_set = None if labels is None else set(labels)

    def get_span_group_or_entity_mentions(doc: Doc) -> List[Span]:
        if key in doc.spans:
            return _sorted_unique(doc.spans[key])
        return _sorted_unique(e for e in doc.ents if label_set is None or e.label_ in label_set)

    return get_span_group_or_entity_mentions


@registry.misc("mcr_spacy.span_group_or_noun_chunk_mentions.v1")
def create_span_group_or_noun_chunk_mentions(
    key: str = DEFAULT_MENTIONS_KEY,
    stop_phrases: Optional[List[str]] = None,
    pronouns: Optional[List[str]] = None,
    include_pronouns: bool = True,
    include_possessives: bool = False,
) -> MentionGetter:
    """Mentions given in `doc.spans[key]` when the doc has that key (gold
    mentions, the paper's protocol), else noun chunks and pronouns as
    `mcr_spacy.noun_chunk_mentions.v1` finds them (end to end): one pipeline
    serves both protocols."""
    noun_chunks = create_noun_chunk_mentions(
        stop_phrases=stop_phrases, pronouns=pronouns,
        include_pronouns=include_pronouns, include_possessives=include_possessives,
    )

    def get_span_group_or_noun_chunk_mentions(doc: Doc) -> List[Span]:
        if key in doc.spans:
            return _sorted_unique(doc.spans[key])
        return noun_chunks(doc)

    return get_span_group_or_noun_chunk_mentions

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
    return NounChunkMentions(
        DEFAULT_STOP_PHRASES if stop_phrases is None else stop_phrases,
        PRONOUNS if pronouns is None else pronouns,
        include_pronouns,
        include_possessives,
    )


# The getters are classes rather than closures so that pipelines holding them
# pickle (`nlp.pipe(n_process=...)` with the spawn start method).
class NounChunkMentions:
    """The getter of `mcr_spacy.noun_chunk_mentions.v1`."""

    def __init__(
        self, stop_phrases: Iterable[str], pronouns: Iterable[str], include_pronouns: bool,
        include_possessives: bool = False,
    ) -> None:
        self.stops = set(p.lower() for p in stop_phrases)
        self.pronoun_set = set(p.lower() for p in pronouns)
        self.include_pronouns = include_pronouns
        self.include_possessives = include_possessives

    def __call__(self, doc: Doc) -> List[Span]:
        if len(doc) == 0:
            return []
        if not doc.has_annotation("DEP"):
            raise ConfigError(Errors.E119.format(doc=doc_name(doc)))
        stops, pronoun_set = self.stops, self.pronoun_set
        spans = [chunk for chunk in doc.noun_chunks if chunk.text.lower() not in stops]
        if self.include_pronouns:
            covered = set()
            for span in spans:
                covered.update(range(span.start, span.end))
            for token in doc:
                if (
                    (token.i not in covered or (self.include_possessives and token.dep_ == "poss"))
                    and token.lower_ in pronoun_set
                    and token.lower_ not in stops
                    and token.pos_ in ("PRON", "DET", "")
                ):
                    spans.append(doc[token.i : token.i + 1])
        return _sorted_unique(spans)


@registry.misc("mcr_spacy.span_group_mentions.v1")
def create_span_group_mentions(key: str = DEFAULT_MENTIONS_KEY) -> MentionGetter:
    """Mentions already stored in `doc.spans[key]` (gold mentions, or the output
    of a trained `span_finder`). A doc without the key has no mentions."""
    return SpanGroupMentions(key)


class SpanGroupMentions:
    """The getter of `mcr_spacy.span_group_mentions.v1`."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, doc: Doc) -> List[Span]:
        if self.key not in doc.spans:
            return []
        return _sorted_unique(doc.spans[self.key])


@registry.misc("mcr_spacy.span_group_or_entity_mentions.v1")
def create_span_group_or_entity_mentions(
    key: str = DEFAULT_MENTIONS_KEY, labels: Optional[List[str]] = None
) -> MentionGetter:
    """Mentions given in `doc.spans[key]` when the doc has that key (gold
    mentions, the paper's protocol), else the doc's entities with one of
    `labels` (all entities when None): the output of an entity recognizer
    trained as a mention detector, for end-to-end use."""
    return SpanGroupOrEntityMentions(key, labels)


class SpanGroupOrEntityMentions:
    """The getter of `mcr_spacy.span_group_or_entity_mentions.v1`."""

    def __init__(self, key: str, labels: Optional[List[str]]) -> None:
        self.key = key
        self.label_set = None if labels is None else set(labels)

    def __call__(self, doc: Doc) -> List[Span]:
        if self.key in doc.spans:
            return _sorted_unique(doc.spans[self.key])
        label_set = self.label_set
        return _sorted_unique(e for e in doc.ents if label_set is None or e.label_ in label_set)


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
    return SpanGroupOrNounChunkMentions(key, create_noun_chunk_mentions(
        stop_phrases=stop_phrases, pronouns=pronouns,
        include_pronouns=include_pronouns, include_possessives=include_possessives,
    ))


class SpanGroupOrNounChunkMentions:
    """The getter of `mcr_spacy.span_group_or_noun_chunk_mentions.v1`."""

    def __init__(self, key: str, noun_chunks: NounChunkMentions) -> None:
        self.key = key
        self.noun_chunks = noun_chunks

    def __call__(self, doc: Doc) -> List[Span]:
        if self.key in doc.spans:
            return _sorted_unique(doc.spans[self.key])
        return self.noun_chunks(doc)

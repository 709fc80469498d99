"""Corpus readers that carry image regions (and gold mentions, when asked)
from the stored reference docs to the predicted docs of training Examples.

spaCy's `Corpus.v1` builds each predicted doc with `nlp.make_doc(text)`, which
drops `doc._` data; these readers build it with
`mcr_spacy.training.examples.make_predicted_doc`, which carries
`doc._.image_regions` and `doc._.trace_boxes` across.
"""
import random
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import logger, registry

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import ConfigError, Errors
from ..annotation.clusters import clear_clusters, get_cluster_groups
from .examples import make_predicted_doc, mentions_to_entities
from .io import corpus_files, read_docs

PathLike = Union[str, Path]


def is_labelled(doc: Doc, span_cluster_prefix: str = CLUSTER_PREFIX) -> bool:
    """Whether a reference doc carries gold clusters."""
    return bool(get_cluster_groups(doc, span_cluster_prefix))


def _renamed(value: Any, *old_values: Any) -> Any:
    """A setting given under its name (`value`) or under an old name (the
    first of `old_values` that is given overrides it)."""
    return next((old for old in old_values if old is not None), value)


class _Reader:
    """What both readers share: the Example made of a stored reference doc."""

    gold_mentions: bool
    mentions_key: str
    span_cluster_prefix: str
    mentions_as_entities: Optional[str] = None

    def _example(self, nlp: Language, reference: Doc) -> Example:
        predicted = make_predicted_doc(
            nlp, reference, gold_mentions=self.gold_mentions, mentions_key=self.mentions_key,
            span_cluster_prefix=self.span_cluster_prefix,
        )
        if self.mentions_as_entities:
            mentions_to_entities(reference, self.mentions_as_entities, self.mentions_key, self.span_cluster_prefix)
        return Example(predicted, reference)


@registry.readers("mcr_spacy.MultimodalCorpus.v1")
class MultimodalCorpus(_Reader):
    """Iterate Examples from a `.spacy` file or a folder of them, carrying image
    regions (and gold mentions, when asked) to the predicted docs.

    path: a `.spacy` file or a folder of them.
    gold_mentions: copy the gold mentions to `predicted.spans[mentions_key]`
        (the protocol where mentions are given and clusters predicted).
    mentions_key: where gold mentions are read and written.
    span_cluster_prefix: the prefix of the gold cluster keys.
    max_length: skip docs of this many tokens or more (0: no limit); the number
        skipped is logged. Coreference docs are not split into sentences, as
        that would cut clusters.
    limit: use at most this many docs (the first ones; 0: all).
    mentions_as_entities: a label: make the gold mentions the reference's
        entities with this label, to train an entity recognizer as a mention
        detector (None: leave entities alone).
    shuffle: shuffle the docs on each pass, by `seed` and the pass number, so
        the order is the same on every run.
    cluster_prefix, prefix: old names of `span_cluster_prefix` (in configs
        and in Python); they override it when given.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        gold_mentions: bool = False,
        mentions_key: str = GOLD_MENTIONS_KEY,
        max_length: int = 0,
        limit: int = 0,
        shuffle: bool = False,
        seed: int = 0,
        span_cluster_prefix: str = CLUSTER_PREFIX,
        mentions_as_entities: Optional[str] = None,
        cluster_prefix: Optional[str] = None,
        prefix: Optional[str] = None,
    ) -> None:
        corpus_files(path)
        self.path = Path(path)
        self.mentions_as_entities = mentions_as_entities
        self.gold_mentions = gold_mentions
        self.mentions_key = mentions_key
        self.max_length = max_length
        self.limit = limit
        self.shuffle = shuffle
        self.seed = seed
        self.span_cluster_prefix = _renamed(span_cluster_prefix, cluster_prefix, prefix)
        self.passes = 0

    def __call__(self, nlp: Language) -> Iterator[Example]:
        docs: Iterable[Doc] = read_docs(corpus_files(self.path), nlp.vocab, self.limit)
        if self.shuffle:
            docs = list(docs)
            random.Random(f"{self.seed}:{self.passes}").shuffle(docs)
        self.passes += 1
        too_long = 0
        for doc in docs:
            if self.max_length >= 1 and len(doc) >= self.max_length:
                too_long += 1
                continue
            yield self._example(nlp, doc)
        if too_long:
            logger.warning(
                "MultimodalCorpus %s: skipped %d docs of max_length=%d tokens or more.",
                self.path, too_long, self.max_length,
            )


@registry.readers("mcr_spacy.SemiSupervisedCorpus.v1")
class SemiSupervisedCorpus(_Reader):
    """Interleave labelled and unlabelled Examples at a fixed ratio.

    Each pass yields every labelled example once, in an order shuffled by seed,
    and `round(unlabelled_ratio * n_labelled)` unlabelled examples spread evenly
    among them, drawn from the unlabelled docs in a seeded shuffled order that
    continues across passes (so all of a large unlabelled set gets used, and a
    small one is reused). Same seed, same sequence.

    With `gold_mentions`, labelled docs get their gold mentions and unlabelled
    docs the mentions stored in their `mentions_key` group (those a mention
    detector found, e.g. `annotate-mentions`); the component's mention getter
    reads them from the predicted doc, since frozen components do not annotate
    during training unless listed in `annotating_components`.

    An example is labelled when its reference doc has gold clusters. Docs in
    the labelled corpus without gold clusters are unlabelled and join the
    unlabelled pool; gold clusters (and gold mentions) found in unlabelled
    docs are removed from their reference so that they train as unlabelled.
    Both are logged.

    The labelled docs are held in memory; unlabelled docs are read from disk on
    each pass and only those drawn for the pass are kept.

    In `spacy train`, set `[training] max_epochs = -1`: spaCy then calls the
    reader for every pass and keeps its order, so each pass draws fresh
    unlabelled docs and batches keep the ratio. With `max_epochs >= 0` spaCy
    reads one pass only and reshuffles it itself (the overall ratio holds, but
    the same unlabelled docs are reused).

    The old American spellings `labeled_path`, `unlabeled_path`,
    `unlabeled_ratio`, `labeled_limit` and `unlabeled_limit`, and
    `cluster_prefix` (configs) and `prefix` (Python) for `span_cluster_prefix`,
    are still accepted and override the new names.
    """

    def __init__(
        self,
        labelled_path: Optional[PathLike] = None,
        unlabelled_path: Optional[PathLike] = None,
        *,
        unlabelled_ratio: float = 1.0,
        gold_mentions: bool = False,
        mentions_key: str = GOLD_MENTIONS_KEY,
        max_length: int = 0,
        labelled_limit: int = 0,
        unlabelled_limit: int = 0,
        seed: int = 0,
        span_cluster_prefix: str = CLUSTER_PREFIX,
        labeled_path: Optional[PathLike] = None,
        unlabeled_path: Optional[PathLike] = None,
        unlabeled_ratio: Optional[float] = None,
        labeled_limit: Optional[int] = None,
        unlabeled_limit: Optional[int] = None,
        cluster_prefix: Optional[str] = None,
        prefix: Optional[str] = None,
    ) -> None:
        ratio = _renamed(unlabelled_ratio, unlabeled_ratio)
        if not (ratio >= 0) or ratio == float("inf"):
            raise ConfigError(Errors.E206.format(ratio=ratio))
        self.labelled_path = _renamed(labelled_path, labeled_path)
        self.unlabelled_path = _renamed(unlabelled_path, unlabeled_path)
        self._sources = {
            "L": ("Corpus labelled_path", self.labelled_path, _renamed(labelled_limit, labeled_limit)),
            "U": ("Corpus unlabelled_path", self.unlabelled_path, _renamed(unlabelled_limit, unlabeled_limit)),
        }
        for what, path, _ in self._sources.values():
            corpus_files(path, what=what)
        self.unlabelled_ratio = float(ratio)
        self.gold_mentions = gold_mentions
        self.mentions_key = mentions_key
        self.max_length = max_length
        self.seed = seed
        self.span_cluster_prefix = _renamed(span_cluster_prefix, cluster_prefix, prefix)
        self.passes = 0
        self._unlabelled_stream: Optional[Iterator[Tuple[str, int]]] = None

    def _read(self, nlp: Language, source: str) -> Iterator[Doc]:
        """The docs of the labelled ("L") or unlabelled ("U") corpus."""
        what, path, limit = self._sources[source]
        return read_docs(corpus_files(path, what=what), nlp.vocab, limit)

    def _fits(self, doc: Doc) -> bool:
        return self.max_length < 1 or len(doc) < self.max_length

    def _labelled_docs(self, nlp: Language) -> Tuple[List[Doc], int]:
        labelled, demoted = [], 0
        for doc in self._read(nlp, "L"):
            if is_labelled(doc, self.span_cluster_prefix):
                labelled.append(doc)
            else:
                demoted += 1
        return labelled, demoted

    def _unlabelled_index(self, nlp: Language) -> List[Tuple[str, int]]:
        """(source, position) of every unlabelled doc: source 'L' for docs of the
        labelled corpus without clusters, 'U' for the unlabelled corpus."""
        index = []
        for i, doc in enumerate(self._read(nlp, "L")):
            if not is_labelled(doc, self.span_cluster_prefix) and self._fits(doc):
                index.append(("L", i))
        for i, doc in enumerate(self._read(nlp, "U")):
            if self._fits(doc):
                index.append(("U", i))
        return index

    def _draw(self, nlp: Language, n: int) -> List[Tuple[str, int]]:
        """The next `n` unlabelled docs of the seeded stream."""
        if self._unlabelled_stream is None:
            index = self._unlabelled_index(nlp)
            if not index:
                self._unlabelled_stream = iter(())
            else:
                self._unlabelled_stream = _shuffled_forever(index, self.seed)
        drawn = []
        for item in self._unlabelled_stream:
            drawn.append(item)
            if len(drawn) >= n:
                break
        return drawn

    def _materialise(self, nlp: Language, wanted: List[Tuple[str, int]]) -> Dict[Tuple[str, int], Doc]:
        needed = set(wanted)
        found: Dict[Tuple[str, int], Doc] = {}
        stripped = 0
        for source in ("L", "U"):
            if not any(item[0] == source for item in needed):
                continue
            for i, doc in enumerate(self._read(nlp, source)):
                if (source, i) in needed:
                    if is_labelled(doc, self.span_cluster_prefix):
                        # It trains as unlabelled: its gold mentions go too.
                        clear_clusters(doc, self.span_cluster_prefix)
                        if self.mentions_key in doc.spans:
                            del doc.spans[self.mentions_key]
                        stripped += 1
                    found[(source, i)] = doc
        if stripped:
            logger.warning(
                "SemiSupervisedCorpus: removed gold clusters from %d docs of %s so "
                "that they train as unlabelled examples.", stripped, self.unlabelled_path,
            )
        return found

    def __call__(self, nlp: Language) -> Iterator[Example]:
        labelled, demoted = self._labelled_docs(nlp)
        if not labelled:
            raise ConfigError(Errors.E207.format(
                path=str(self.labelled_path), span_cluster_prefix=self.span_cluster_prefix
            ))
        too_long = sum(1 for doc in labelled if not self._fits(doc))
        labelled = [doc for doc in labelled if self._fits(doc)]
        if demoted and self.passes == 0:
            logger.warning(
                "SemiSupervisedCorpus: %d docs of %s have no gold clusters; they are "
                "used as unlabelled examples.", demoted, self.labelled_path,
            )
        if too_long:
            logger.warning(
                "SemiSupervisedCorpus: skipped %d labelled docs of max_length=%d "
                "tokens or more.", too_long, self.max_length,
            )
        rng = random.Random(f"{self.seed}:labelled:{self.passes}")
        rng.shuffle(labelled)
        self.passes += 1
        n_unlabelled = int(round(self.unlabelled_ratio * len(labelled)))
        wanted = self._draw(nlp, n_unlabelled) if n_unlabelled else []
        unlabelled_docs = self._materialise(nlp, wanted) if wanted else {}
        unlabelled = [unlabelled_docs[item] for item in wanted]
        for doc in _interleave(labelled, unlabelled):
            yield self._example(nlp, doc)


def _shuffled_forever(items: List[Tuple[str, int]], seed: int) -> Iterator[Tuple[str, int]]:
    epoch = 0
    while True:
        order = list(items)
        random.Random(f"{seed}:unlabelled:{epoch}").shuffle(order)
        yield from order
        epoch += 1


def _interleave(labelled: List[Doc], unlabelled: List[Doc]) -> Iterator[Doc]:
    """Spread the unlabelled docs evenly among the labelled ones: after the
    i-th labelled doc, as many unlabelled docs as bring their count to
    round(i * U / L)."""
    n_lab, n_unlab = len(labelled), len(unlabelled)
    if n_lab == 0:
        yield from unlabelled
        return
    j = 0
    for i, doc in enumerate(labelled, start=1):
        yield doc
        target = (i * n_unlab + n_lab // 2) // n_lab
        while j < target:
            yield unlabelled[j]
            j += 1
    yield from unlabelled[j:]


# The names the entry points (setup.cfg) give the readers.
create_multimodal_corpus = MultimodalCorpus
create_semi_supervised_corpus = SemiSupervisedCorpus

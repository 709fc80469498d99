"""Corpus readers that carry image regions (and gold mentions, when asked)
from the stored reference docs to the predicted docs of training Examples.

spaCy's `Corpus.v1` builds each predicted doc with `nlp.make_doc(text)`, which
drops `doc._` data; these readers copy `doc._.image_regions` and
`doc._.trace_boxes` across.
"""
import random
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span, SpanGroup
from spacy.training import Example
from spacy.util import filter_spans, logger, registry

from ..errors import AlignmentError, ConfigError, DataFormatError
from ..annotation.extensions import DEFAULT_CLUSTER_PREFIX
from ..annotation.gold import DEFAULT_MENTIONS_KEY, doc_name
from ..annotation.clusters import clear_clusters, get_cluster_groups

FILE_SUFFIX = ".spacy"


def corpus_files(path: Union[str, Path], *, what: str = "path") -> List[Path]:
    """The `.spacy` file at `path`, or every `.spacy` file under a folder
    (sorted). Refuses a missing path or a folder without `.spacy` files."""
    if path is None or str(path) == "":
        raise ConfigError(
            f"Corpus {what} is not set. Give the path of a {FILE_SUFFIX} file or a "
            f"folder of them in the config (`[paths]`) or on the command line "
            f"(e.g. `--paths.train corpus/train.spacy`)."
        )
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob(f"*{FILE_SUFFIX}") if p.is_file())
        if found:
            return found
        raise ConfigError(
            f"Corpus {what} {str(path)!r} is a folder without any {FILE_SUFFIX} "
            f"file. Convert the data first (e.g. `python -m mcr_spacy convert-cin`) "
            f"or point the config at the right folder."
        )
    raise ConfigError(
        f"Corpus {what} {str(path)!r} does not exist. Convert the data first "
        f"(e.g. `python -m mcr_spacy convert-cin`), or set the path in the config "
        f"(`[paths]`) or on the command line (e.g. `--paths.train`)."
    )


def read_docs(nlp: Language, files: Iterable[Path], limit: int = 0) -> Iterator[Doc]:
    """Stored docs from `.spacy` files, at most `limit` of them (0: all)."""
    n = 0
    for path in files:
        try:
            docbin = DocBin().from_disk(path)
        except Exception as err:  # zlib, msgpack or format errors of a damaged file
            raise DataFormatError(
                f"Corpus file {str(path)!r} cannot be read as a {FILE_SUFFIX} file "
                f"(DocBin): {err}. Convert the data again; the converters write "
                f"files whole or not at all."
            ) from err
        for doc in docbin.get_docs(nlp.vocab):
            yield doc
            n += 1
            if limit >= 1 and n >= limit:
                return


def is_labelled(doc: Doc, prefix: str = DEFAULT_CLUSTER_PREFIX) -> bool:
    """Whether a reference doc carries gold clusters."""
    return bool(get_cluster_groups(doc, prefix))


def make_multimodal_example(
    nlp: Language,
    reference: Doc,
    *,
    gold_mentions: bool = False,
    mentions_key: str = DEFAULT_MENTIONS_KEY,
    prefix: str = DEFAULT_CLUSTER_PREFIX,
    mentions_as_entities: Optional[str] = None,
) -> Example:
    """An Example whose predicted doc is `nlp.make_doc(reference.text)` with the
    reference's `image_regions` and `trace_boxes` and, when `gold_mentions`,
    the gold mentions in `doc.spans[mentions_key]`, aligned by character
    offsets. Gold mentions are `reference.spans[mentions_key]`, or the mentions
    of the gold clusters when that key is absent; a doc with neither gets no
    mentions group (so the component's mention getter decides)."""
    predicted = nlp.make_doc(reference.text)
    predicted._.image_regions = reference._.image_regions
    predicted._.trace_boxes = reference._.trace_boxes
    if gold_mentions:
        spans = None
        if mentions_key in reference.spans:
            spans = list(reference.spans[mentions_key])
        elif is_labelled(reference, prefix):
            spans = [span for _, group in get_cluster_groups(reference, prefix) for span in group]
        if spans is not None:
            predicted.spans[mentions_key] = _align_mentions(predicted, reference, spans, mentions_key)
    if mentions_as_entities:
        _mentions_to_entities(reference, mentions_key, prefix, mentions_as_entities)
    return Example(predicted, reference)


def _mentions_to_entities(reference: Doc, mentions_key: str, prefix: str, label: str) -> None:
    """Make the gold mentions the reference's entities (longest first where they
    overlap, as entities cannot nest), to train an entity recognizer as a
    mention detector."""
    if mentions_key in reference.spans:
        spans = list(reference.spans[mentions_key])
    else:
        spans = [span for _, group in get_cluster_groups(reference, prefix) for span in group]
    reference.ents = [
        Span(reference, span.start, span.end, label=label) for span in filter_spans(spans)
    ]


def _align_mentions(predicted: Doc, reference: Doc, spans: List, key: str) -> SpanGroup:
    aligned = {}
    for span in spans:
        start, end = span.start_char, span.end_char
        if (start, end) in aligned:
            continue
        new = predicted.char_span(start, end)
        if new is None:
            expanded = predicted.char_span(start, end, alignment_mode="expand")
            tokens = [t.text for t in expanded] if expanded is not None else []
            raise AlignmentError(
                f"In {_name(reference)}: gold mention {span.text!r} at characters "
                f"[{start}, {end}) does not fall on the tokens of the pipeline's "
                f"tokenizer (it splits that text as {tokens}). Use a tokenizer that "
                f"splits there, or convert the data so that mentions are whole "
                f"tokens of this tokenizer."
            )
        aligned[(start, end)] = new
    ordered = sorted(aligned.values(), key=lambda s: (s.start, s.end))
    return SpanGroup(predicted, name=key, spans=ordered)


def _name(doc: Doc) -> str:
    key = doc.user_data.get("doc_key") if isinstance(doc.user_data, dict) else None
    return f"doc {key!r}" if key is not None else doc_name(doc)


class MultimodalCorpus:
    """Iterate Examples from a `.spacy` file or a folder of them, carrying image
    regions (and gold mentions, when asked) to the predicted docs.

    path: a `.spacy` file or a folder of them.
    gold_mentions: copy the gold mentions to `predicted.spans[mentions_key]`
        (the protocol where mentions are given and clusters predicted).
    mentions_key: where gold mentions are read and written.
    max_length: skip docs of this many tokens or more (0: no limit); the number
        skipped is logged. Coreference docs are not split into sentences, as
        that would cut clusters.
    limit: use at most this many docs (the first ones; 0: all).
    mentions_as_entities: a label: make the gold mentions the reference's
        entities with this label, to train an entity recognizer as a mention
        detector (None: leave entities alone).
    shuffle: shuffle the docs on each pass, by `seed` and the pass number, so
        the order is the same on every run.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        gold_mentions: bool = False,
        mentions_key: str = DEFAULT_MENTIONS_KEY,
        max_length: int = 0,
        limit: int = 0,
        shuffle: bool = False,
        seed: int = 0,
        prefix: str = DEFAULT_CLUSTER_PREFIX,
        mentions_as_entities: Optional[str] = None,
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
        self.prefix = prefix
        self.passes = 0

    def __call__(self, nlp: Language) -> Iterator[Example]:
        docs: Iterable[Doc] = read_docs(nlp, corpus_files(self.path), self.limit)
        if self.shuffle:
            docs = list(docs)
            random.Random(f"{self.seed}:{self.passes}").shuffle(docs)
        self.passes += 1
        too_long = 0
        for doc in docs:
            if self.max_length >= 1 and len(doc) >= self.max_length:
                too_long += 1
                continue
            yield make_multimodal_example(
                nlp, doc, gold_mentions=self.gold_mentions,
                mentions_key=self.mentions_key, prefix=self.prefix,
                mentions_as_entities=self.mentions_as_entities,
            )
        if too_long:
            logger.warning(
                "MultimodalCorpus %s: skipped %d docs of max_length=%d tokens or more.",
                self.path, too_long, self.max_length,
            )


class SemiSupervisedCorpus:
    """Interleave labelled and unlabelled Examples at a fixed ratio.

    Each pass yields every labelled example once, in an order shuffled by seed,
    and `round(unlabeled_ratio * n_labelled)` unlabelled examples spread evenly
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
    """

    def __init__(
        self,
        labeled_path: Union[str, Path],
        unlabeled_path: Union[str, Path],
        *,
        unlabeled_ratio: float = 1.0,
        gold_mentions: bool = False,
        mentions_key: str = DEFAULT_MENTIONS_KEY,
        max_length: int = 0,
        labeled_limit: int = 0,
        unlabeled_limit: int = 0,
        seed: int = 0,
        prefix: str = DEFAULT_CLUSTER_PREFIX,
    ) -> None:
        if not (unlabeled_ratio >= 0) or unlabeled_ratio == float("inf"):
            raise ConfigError(
                f"SemiSupervisedCorpus: unlabeled_ratio must be a finite number >= 0 "
                f"(unlabelled examples per labelled one), got {unlabeled_ratio!r}."
            )
        corpus_files(labeled_path, what="labeled_path")
        corpus_files(unlabeled_path, what="unlabeled_path")
        self.labeled_path = Path(labeled_path)
        self.unlabeled_path = Path(unlabeled_path)
        self.unlabeled_ratio = float(unlabeled_ratio)
        self.gold_mentions = gold_mentions
        self.mentions_key = mentions_key
        self.max_length = max_length
        self.labeled_limit = labeled_limit
        self.unlabeled_limit = unlabeled_limit
        self.seed = seed
        self.prefix = prefix
        self.passes = 0
        self._unlabelled_stream: Optional[Iterator[Tuple[str, int]]] = None
        self._pool_size: Optional[Dict[str, int]] = None

    def _fits(self, doc: Doc) -> bool:
        return self.max_length < 1 or len(doc) < self.max_length

    def _labelled_docs(self, nlp: Language) -> Tuple[List[Doc], int]:
        files = corpus_files(self.labeled_path, what="labeled_path")
        labelled, demoted = [], 0
        for doc in read_docs(nlp, files, self.labeled_limit):
            if is_labelled(doc, self.prefix):
                labelled.append(doc)
            else:
                demoted += 1
        return labelled, demoted

    def _unlabelled_index(self, nlp: Language) -> List[Tuple[str, int]]:
        """(source, position) of every unlabelled doc: source 'L' for docs of the
        labelled corpus without clusters, 'U' for the unlabelled corpus."""
        index = []
        for i, doc in enumerate(read_docs(nlp, corpus_files(self.labeled_path, what="labeled_path"), self.labeled_limit)):
            if not is_labelled(doc, self.prefix) and self._fits(doc):
                index.append(("L", i))
        for i, doc in enumerate(read_docs(nlp, corpus_files(self.unlabeled_path, what="unlabeled_path"), self.unlabeled_limit)):
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
        sources = [
            ("L", self.labeled_path, "labeled_path", self.labeled_limit),
            ("U", self.unlabeled_path, "unlabeled_path", self.unlabeled_limit),
        ]
        stripped = 0
        for source, path, what, limit in sources:
            if not any(item[0] == source for item in needed):
                continue
            for i, doc in enumerate(read_docs(nlp, corpus_files(path, what=what), limit)):
                if (source, i) in needed:
                    if is_labelled(doc, self.prefix):
                        # It trains as unlabelled: its gold mentions go too.
                        clear_clusters(doc, self.prefix)
                        if self.mentions_key in doc.spans:
                            del doc.spans[self.mentions_key]
                        stripped += 1
                    found[(source, i)] = doc
        if stripped:
            logger.warning(
                "SemiSupervisedCorpus: removed gold clusters from %d docs of %s so "
                "that they train as unlabelled examples.", stripped, self.unlabeled_path,
            )
        return found

    def __call__(self, nlp: Language) -> Iterator[Example]:
        labelled, demoted = self._labelled_docs(nlp)
        if not labelled:
            raise ConfigError(
                f"SemiSupervisedCorpus: labeled_path {str(self.labeled_path)!r} has no "
                f"doc with gold clusters (doc.spans['{self.prefix}_1'], ...), and the "
                f"number of unlabelled examples is set relative to the labelled ones. "
                f"Check the path and the cluster prefix, or train on the unlabelled "
                f"corpus with mcr_spacy.MultimodalCorpus.v1."
            )
        too_long = sum(1 for doc in labelled if not self._fits(doc))
        labelled = [doc for doc in labelled if self._fits(doc)]
        if demoted and self.passes == 0:
            logger.warning(
                "SemiSupervisedCorpus: %d docs of %s have no gold clusters; they are "
                "used as unlabelled examples.", demoted, self.labeled_path,
            )
        if too_long:
            logger.warning(
                "SemiSupervisedCorpus: skipped %d labelled docs of max_length=%d "
                "tokens or more.", too_long, self.max_length,
            )
        rng = random.Random(f"{self.seed}:labelled:{self.passes}")
        rng.shuffle(labelled)
        self.passes += 1
        n_unlabelled = int(round(self.unlabeled_ratio * len(labelled)))
        wanted = self._draw(nlp, n_unlabelled) if n_unlabelled else []
        unlabelled_docs = self._materialise(nlp, wanted) if wanted else {}
        unlabelled = [unlabelled_docs[item] for item in wanted]
        for doc in _interleave(labelled, unlabelled):
            yield make_multimodal_example(
                nlp, doc, gold_mentions=self.gold_mentions,
                mentions_key=self.mentions_key, prefix=self.prefix,
            )


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


@registry.readers("mcr_spacy.MultimodalCorpus.v1")
def create_multimodal_corpus(
    path: Union[str, Path],
    gold_mentions: bool = False,
    mentions_key: str = DEFAULT_MENTIONS_KEY,
    max_length: int = 0,
    limit: int = 0,
    shuffle: bool = False,
    seed: int = 0,
    cluster_prefix: str = DEFAULT_CLUSTER_PREFIX,
    mentions_as_entities: Optional[str] = None,
) -> Callable[[Language], Iterable[Example]]:
    """Examples from `.spacy` files whose predicted docs keep the image regions
    (and, with `gold_mentions`, the gold mentions in `doc.spans[mentions_key]`;
    with `mentions_as_entities = "LABEL"`, the gold mentions as the reference's
    entities, to train an entity recognizer as a mention detector)."""
    return MultimodalCorpus(
        path, gold_mentions=gold_mentions, mentions_key=mentions_key,
        max_length=max_length, limit=limit, shuffle=shuffle, seed=seed,
        prefix=cluster_prefix, mentions_as_entities=mentions_as_entities,
    )


@registry.readers("mcr_spacy.SemiSupervisedCorpus.v1")
def create_semi_supervised_corpus(
    labeled_path: Union[str, Path],
    unlabeled_path: Union[str, Path],
    unlabeled_ratio: float = 1.0,
    gold_mentions: bool = False,
    mentions_key: str = DEFAULT_MENTIONS_KEY,
    max_length: int = 0,
    labeled_limit: int = 0,
    unlabeled_limit: int = 0,
    seed: int = 0,
    cluster_prefix: str = DEFAULT_CLUSTER_PREFIX,
) -> Callable[[Language], Iterable[Example]]:
    """Labelled and unlabelled Examples interleaved at `unlabeled_ratio`
    unlabelled per labelled one, shuffled by `seed`, with the regions carried
    to the predicted docs."""
    return SemiSupervisedCorpus(
        labeled_path, unlabeled_path, unlabeled_ratio=unlabeled_ratio,
        gold_mentions=gold_mentions, mentions_key=mentions_key, max_length=max_length,
        labeled_limit=labeled_limit, unlabeled_limit=unlabeled_limit, seed=seed,
        prefix=cluster_prefix,
    )

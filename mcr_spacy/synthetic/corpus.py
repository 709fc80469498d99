"""Generated narrations as spaCy docs and examples, and the registered reader
`mcr_spacy.GeneratedNarrations.v1` (a corpus of them for benchmarks and tests)."""
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from ..annotation.gold import make_example, set_mentions
from .narrations import Narration, generate_narration
from .world import DEFAULT_FEATURE_WIDTH


def narration_doc(nlp: Language, narration: Narration, mentions_key: str = "mentions") -> Doc:
    """An unannotated doc of the narration: tokens, regions, mentions in
    `doc.spans[mentions_key]` (the gold-mention protocol)."""
    doc = nlp.make_doc(narration.text)
    doc._.image_regions = narration.regions
    set_mentions(doc, [m for cluster in narration.clusters for m in cluster], mentions_key)
    return doc


def narration_example(nlp: Language, narration: Narration) -> Example:
    """A labelled training example of the narration."""
    return make_example(nlp, narration.text, narration.clusters, narration.boxes, narration.regions)


@registry.readers("mcr_spacy.GeneratedNarrations.v1")
def create_generated_narrations_reader(n_docs: int = 100, seed: int = 0, feature_width: int = DEFAULT_FEATURE_WIDTH):
    """A corpus of generated narrations (labelled examples), for benchmarks and
    tests: `n_docs` narrations from `seed`, regions with `feature_width`-d features."""

    def read(nlp: Language) -> Iterable[Example]:
        for i in range(n_docs):
            narration = generate_narration(seed * 1_000_003 + i, feature_width=feature_width)
            yield narration_example(nlp, narration)

    return read

"""Optional sense2vec features: one vector per mention, looked up by its phrase
or its last word as a noun sense. The table is read once in `initialize` and
stored inside the model, so a saved pipeline never needs the original file."""
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy
from spacy.tokens import Doc
from thinc.api import Model

from ..errors import ConfigError, Errors

SENSES = ("NOUN", "PROPN", "PRON", "ADJ", "VERB")


def load_sense2vec_bytes(path: Union[str, Path]) -> bytes:
    """Read a sense2vec table (a `Sense2Vec.to_disk` folder) into bytes."""
    try:
        from sense2vec import Sense2Vec
    except ImportError:
        raise ConfigError(Errors.E120) from None
    path = Path(path)
    if not path.exists():
        raise ConfigError(Errors.E121.format(path=str(path)))
    return Sense2Vec().from_disk(path).to_bytes()


class MentionSenseVectors:
    """Maps mentions to sense2vec vectors (zeros when no sense is known)."""

    def __init__(self, table_bytes: bytes) -> None:
        from sense2vec import Sense2Vec

        self.s2v = Sense2Vec().from_bytes(table_bytes)
        self.width = int(self.s2v.vectors.shape[1])

    def key_for(self, words: Sequence[str]) -> Optional[str]:
        for candidate in ("_".join(words), words[-1]):
            key = self.s2v.get_best_sense(candidate, senses=SENSES)
            if key is not None:
                return key
        return None

    def __call__(self, doc: Doc, spans: numpy.ndarray) -> numpy.ndarray:
        out = numpy.zeros((len(spans), self.width), dtype="float32")
        for i, (start, end) in enumerate(spans.tolist()):
            words = [t.text for t in doc[start:end] if not t.is_punct] or [doc[end - 1].text]
            # Drop a leading determiner: "the red shirt" -> "red_shirt".
            if len(words) > 1 and doc[start].lower_ in ("a", "an", "the", "this", "that", "these", "those"):
                words = words[1:]
            key = self.key_for(words)
            if key is not None:
                out[i] = self.s2v[key]
        return out


def get_mention_features(model: Model) -> Optional[Callable]:
    """The sense2vec lookup of the model, built from the table stored in its attrs."""
    if not model.attrs.get("extra_width"):
        return None
    lookup = model.attrs.get("_mention_features")
    if lookup is None:
        table = model.attrs.get("sense2vec_table")
        if table is None:
            raise ConfigError(Errors.E122)
        lookup = MentionSenseVectors(table)
        model.attrs["_mention_features"] = lookup
    return lookup

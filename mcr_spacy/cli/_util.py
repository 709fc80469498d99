"""What the commands share: the typer app they register on, reading a corpus,
the keys of the pipeline's component, and the number format of their tables."""
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import typer
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY, PREDICTED_MENTIONS_KEY
from ..errors import ConfigError, Errors, MultimodalCorefError
from ..pipeline.component import find_coref_component
from ..training.io import check_outputs, read_corpus

app = typer.Typer(
    name="mcr_spacy",
    help="Multimodal coreference resolution for spaCy: make and convert data, evaluate, visualise.",
    no_args_is_help=True,
    add_completion=False,
)

# Options that several commands take, declared once.
LANG_OPTION = typer.Option("en", "--lang", "-l", help="Language code of the blank tokenizer.")
SPAN_CLUSTER_PREFIX_OPTION = typer.Option(
    CLUSTER_PREFIX, "--span-cluster-prefix", "--prefix",
    help="Gold clusters go to doc.spans['PREFIX_1'], ... (--prefix is its old name).",
)
GOLD_MENTIONS_KEY_OPTION = typer.Option(GOLD_MENTIONS_KEY, "--mentions-key", help="Gold mentions go to doc.spans[KEY].")


def component_keys(nlp: Language) -> Tuple[str, str]:
    """The `span_cluster_prefix` and `mentions_key` of the pipeline's
    multimodal_coref component (`find_coref_component`), or the defaults when
    it has none."""
    try:
        name, _ = find_coref_component(nlp)
    except ConfigError:  # no such component: the defaults apply
        return CLUSTER_PREFIX, PREDICTED_MENTIONS_KEY
    cfg = nlp.get_pipe_config(name)
    return cfg.get("span_cluster_prefix", CLUSTER_PREFIX), cfg.get("mentions_key", PREDICTED_MENTIONS_KEY)


def format_percent(value: Optional[Any], *, decimals: int = 2, missing: str = "-", sign: bool = False) -> str:
    """A fraction as a percentage with `decimals` decimals (0.1234 -> "12.34"),
    with a "+" on positive values when `sign`; `missing` for None."""
    if value is None:
        return missing
    return f"{float(value) * 100:{'+' if sign else ''}.{decimals}f}"


def read_corpus_or_exit(path: Path, vocab: Vocab, *, limit: int = 0, what: str = "Corpus path") -> List[Doc]:
    """`read_corpus`, or the error's message and exit code 1 for a path that
    is missing or cannot be read."""
    try:
        return read_corpus(path, vocab, limit=limit, what=what)
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)


def guard_outputs(outputs: Sequence[Any], inputs: Sequence[Any]) -> None:
    """`check_outputs` for a command: before anything is written, the error's
    message and exit code 1 for an output that would overwrite an input (the
    same file, or a folder holding it) or another output."""
    try:
        check_outputs(outputs, inputs)
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)


def load_pipeline_or_exit(model: str) -> Language:
    """`spacy.load(model)`, or a message naming the pipeline and exit code 1
    when it is missing or damaged."""
    import spacy

    try:
        return spacy.load(model)
    except (OSError, ValueError, KeyError, TypeError) as err:
        msg.fail(Errors.E724.format(model=model, error=err), exits=1)

"""Custom attributes used by the multimodal coreference pipeline."""
from typing import Any, Iterable, List, Sequence

from spacy.tokens import Doc, Span

from ..defaults import CLUSTER_PREFIX
from .clusters import get_clusters
from .regions import MSGPACK_KEY, ImageRegions, register_msgpack_codec

DEFAULT_CLUSTER_PREFIX = CLUSTER_PREFIX
"""The old name of `mcr_spacy.defaults.CLUSTER_PREFIX`."""


def install_extensions() -> None:
    """Register `Doc._.image_regions`, `Doc._.trace_boxes`, `Doc._.coref_clusters`
    and `Span._.grounding`, and the msgpack codec for regions. Safe to call twice.

    `doc._.trace_boxes` (float32 [n_tokens, 5]: per token, the normalised
    `x1, y1, x2, y2, area` box of the narrator's mouse trace while it was
    spoken; zeros where there is none) is written by `convert-ln` and
    `attach-traces`, carried to the predicted docs by the corpus readers, and
    read by the component's trace loss and trace feature when they are on.

    `doc._.speakers` (one speaker name per token, or None) is read by the
    antecedent scorer's same-speaker feature; the jsonlines converter writes
    it from a dialog's `speakers`. `doc._.pronoun_info` keeps VisPro's pronoun
    annotation (`current_pronoun`, `candidate_NPs`, `correct_NPs`,
    `reference_type`, `not_discussed`, token spans with inclusive ends) for its
    pronoun metric.
    """
    register_msgpack_codec()
    if not Doc.has_extension("image_regions"):
        Doc.set_extension("image_regions", getter=_get_image_regions, setter=_set_image_regions)
    if not Doc.has_extension("trace_boxes"):
        Doc.set_extension("trace_boxes", default=None)
    for name in ("speakers", "pronoun_info"):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
    if not Doc.has_extension("coref_clusters"):
        Doc.set_extension("coref_clusters", getter=_get_default_clusters)
    if not Span.has_extension("grounding"):
        Span.set_extension("grounding", getter=_get_grounding, setter=_set_grounding)


# `image_regions` and `grounding` keep their values in `doc.user_data` under
# the keys spaCy uses for plain attributes (so `DocBin(store_user_data=True)`
# carries them), and repair on reading what msgpack gives back: regions still
# in their msgpack form (a `.spacy` file read before this package registered
# its codec) and tuples where lists were stored (spaCy reads user data with
# `use_list=False`).
def _regions_key() -> tuple:
    return ("._.", "image_regions", None, None)


def _get_image_regions(doc: Doc) -> Any:
    value = doc.user_data.get(_regions_key())
    if isinstance(value, dict) and MSGPACK_KEY in value:
        value = ImageRegions.from_dict(value[MSGPACK_KEY])
        doc.user_data[_regions_key()] = value
    return value


def _set_image_regions(doc: Doc, value: Any) -> None:
    doc.user_data[_regions_key()] = value


def _grounding_key(span: Span) -> tuple:
    return ("._.", "grounding", span.start_char, span.end_char)


def _as_lists(value: Any) -> Any:
    """Tuples (at any depth of dicts, lists and tuples) as lists."""
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    return value


def _get_grounding(span: Span) -> Any:
    value = span.doc.user_data.get(_grounding_key(span))
    if isinstance(value, dict) and any(isinstance(v, tuple) for v in value.values()):
        value = _as_lists(value)
        span.doc.user_data[_grounding_key(span)] = value
    return value


def _set_grounding(span: Span, value: Any) -> None:
    span.doc.user_data[_grounding_key(span)] = value


def _get_default_clusters(doc: Doc) -> List[List[Span]]:
    return get_clusters(doc, CLUSTER_PREFIX)


def set_span_values(spans: Iterable[Span], name: str, values: Iterable[Any]) -> None:
    """Set `span._.{name}` of many spans at once. For an attribute without
    getter or setter this writes `doc.user_data` under the key `Span._` uses,
    skipping the per-span `Underscore` object; otherwise it sets each one."""
    default, method, getter, setter = Span.get_extension(name)
    if setter is _set_grounding:
        getter = setter = None  # it writes user_data as below
    if getter is not None or setter is not None or method is not None:
        for span, value in zip(spans, values):
            span._.set(name, value)
        return
    for span, value in zip(spans, values):
        span.doc.user_data[("._.", name, span.start_char, span.end_char)] = value


def get_doc_values(docs: Sequence[Doc], name: str) -> List[Any]:
    """`doc._.{name}` of many docs at once. For an attribute without getter or
    method and with an immutable default this reads `doc.user_data` under the
    key `Doc._` uses, skipping the per-doc `Underscore` object."""
    default, method, getter, setter = Doc.get_extension(name)
    if getter is not None and method is None:
        return [getter(doc) for doc in docs]
    if method is not None or isinstance(default, (list, dict, set)):
        return [getattr(doc._, name) for doc in docs]
    key = ("._.", name, None, None)
    return [doc.user_data.get(key, default) for doc in docs]

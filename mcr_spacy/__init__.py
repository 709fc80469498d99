"""Multimodal coreference resolution and grounding in image narrations, for spaCy."""
from .errors import AlignmentError, ConfigError, DataFormatError, ImageError, MultimodalCorefError, RegionsError
from .annotation.extensions import DEFAULT_CLUSTER_PREFIX, install_extensions
from .annotation.gold import annotate_gold, make_example, set_mentions
from .annotation.regions import ImageRegions, boxes_from_xywh
from .annotation.clusters import clusters_to_span_group, get_cluster_groups, get_clusters

install_extensions()

from .pipeline.component import MultimodalCoref  # noqa: E402
from .training.corpus import MultimodalCorpus, SemiSupervisedCorpus  # noqa: E402
from .training.callbacks import create_initialize_frozen  # noqa: E402,F401
from .training.loggers import timed_console_logger  # noqa: E402,F401
from .pipeline.mentions import create_noun_chunk_mentions, create_span_group_mentions  # noqa: E402
from .ml.model import build_multimodal_coref_model  # noqa: E402
from .scoring.metrics import coref_metrics, grounding_accuracy, mention_detection  # noqa: E402
from .scoring.scorer import evaluate_examples  # noqa: E402
from .visualize.render import render  # noqa: E402
from .vision import RegionExtractor, add_image_regions, extract_regions, make_image_doc, read_image  # noqa: E402

__all__ = [
    "AlignmentError",
    "ConfigError",
    "DataFormatError",
    "DEFAULT_CLUSTER_PREFIX",
    "ImageError",
    "ImageRegions",
    "MultimodalCoref",
    "MultimodalCorefError",
    "MultimodalCorpus",
    "RegionExtractor",
    "RegionsError",
    "SemiSupervisedCorpus",
    "add_image_regions",
    "annotate_gold",
    "boxes_from_xywh",
    "build_multimodal_coref_model",
    "clusters_to_span_group",
    "coref_metrics",
    "create_noun_chunk_mentions",
    "create_span_group_mentions",
    "evaluate_examples",
    "extract_regions",
    "get_cluster_groups",
    "get_clusters",
    "grounding_accuracy",
    "install_extensions",
    "make_example",
    "make_image_doc",
    "mention_detection",
    "read_image",
    "render",
    "set_mentions",
]

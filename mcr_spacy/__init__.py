"""Multimodal coreference resolution and grounding in image narrations, for spaCy."""
from .errors import AlignmentError, ConfigError, DataFormatError, MultimodalCorefError, RegionsError
from .extensions import DEFAULT_CLUSTER_PREFIX, install_extensions
from .gold import annotate_gold, make_example, set_mentions
from .regions import ImageRegions, boxes_from_xywh
from .spans import clusters_to_span_group, get_cluster_groups, get_clusters

install_extensions()

__all__ = [
    "AlignmentError",
    "ConfigError",
    "DataFormatError",
    "DEFAULT_CLUSTER_PREFIX",
    "ImageRegions",
    "MultimodalCorefError",
    "RegionsError",
    "annotate_gold",
    "boxes_from_xywh",
    "clusters_to_span_group",
    "get_cluster_groups",
    "get_clusters",
    "install_extensions",
    "make_example",
    "set_mentions",
]

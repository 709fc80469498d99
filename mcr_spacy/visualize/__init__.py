"""An HTML view of a doc's coreference clusters and their grounding, with
the gold reference beside the predictions: `render(doc, image, gold=...)`."""
from .images import encode_png, image_data_uri, image_file_size
from .render import build_view, render
from .view_model import MUTED, PALETTE, Cluster, Mention, Side, View

__all__ = [
    "MUTED",
    "PALETTE",
    "Cluster",
    "Mention",
    "Side",
    "View",
    "build_view",
    "encode_png",
    "image_data_uri",
    "image_file_size",
    "render",
]

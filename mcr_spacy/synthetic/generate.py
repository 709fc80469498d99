"""A synthetic multimodal coreference data set written in the real CIN, MAF and
flk30k_LN file formats, so that the demo runs the same converters as real data.

Each image is a scene of objects. A region's feature vector is the sum of
prototypes (super-category, category, colour, size) plus noise, so category,
colour and size are visible in the features and in the box geometry. Detector
labels use synonyms and are sometimes generic or wrong; distractor regions
(body parts, clutter, unmentioned objects) are added. Narrations follow the
Localized Narratives style ("In this image we can see a man holding a dog. He
is wearing a red shirt. ...") with pronouns by gender and number, synonyms and
hypernyms ("a dog ... the animal ... it"), singletons, mentions without a box,
and cases only the image resolves: two men are introduced, and later "the tall
man" or "the man on the left" names one of them by an attribute the text never
stated for it, so only the boxes and features tell which.

Written files (under OUT_DIR):
- `cin_annotations/testval_annotations.json`, `val_image_ids.json`, `test_image_ids.json`
- `faster_rcnn_image_features/{split}_features_compress.hdf5`, `{split}_imgid2idx.pkl`,
  `{split}_detection_dict.json` for `val`, `test` and `train` (the unlabelled images)
- `flk30k_LN.json`, `flk30k_LN_label.h5`; `flk30k_LN_trace_box/<id>.npy` for
  every image (unlabelled, labelled and test: Flickr30k's Localized
  Narratives have a trace for each), per word, with `trace_noise` and `trace_lag`
- `gold/{split}/<id>.json`: gold chains as scorch JSON, like CIN's `gold.zip`
- `synth_phenomena.json`: for every gold mention, the phenomena it exercises
"""
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Set, Union

import numpy

from ..errors import ConfigError, Errors
from .categories import CATS
from .scene_generator import generate_scenes
from .world import DEFAULT_FEATURE_WIDTH, World
from .writers import write_cin, write_features, write_ln, write_phenomena, write_traces


def generate(
    out_dir: Union[str, Path],
    *,
    n_labelled: int = 200,
    n_unlabelled: int = 400,
    n_test: int = 100,
    seed: int = 0,
    feature_width: int = DEFAULT_FEATURE_WIDTH,
    held_out: Sequence[str] = (),
    n_labeled: Optional[int] = None,
    n_unlabeled: Optional[int] = None,
    trace_noise: float = 0.05,
    trace_lag: float = 1.0,
) -> Dict[str, Any]:
    """Write the synthetic data set to `out_dir`; returns a summary of counts.
    The labelled images are CIN's `val` split, the test images its `test`
    split, and the unlabelled images the `train` split of the features.
    Categories named in `held_out` never appear in the labelled images, only
    in the unlabelled and test ones (as a small labelled set covers only
    part of the vocabulary of a large unlabelled one).

    trace_noise: jitter of the mouse trace's box corners, as a fraction of
        the image (0: the pointer is exactly on the thing named).
    trace_lag: the pointer is early or late by up to this many words (a
        whole number drawn per narration; 0: in time with the words).
    n_labeled, n_unlabeled: the former names of `n_labelled` and
        `n_unlabelled`, still accepted; when given they are used.
    """
    if n_labeled is not None:
        n_labelled = n_labeled
    if n_unlabeled is not None:
        n_unlabelled = n_unlabeled
    for name, value in (("n_labelled", n_labelled), ("n_unlabelled", n_unlabelled), ("n_test", n_test)):
        if value < 0:
            raise ConfigError(Errors.E600.format(name=name, value=value))
    if feature_width < 1:
        raise ConfigError(Errors.E601.format(value=feature_width))
    if not (numpy.isfinite(trace_noise) and trace_noise >= 0):
        raise ConfigError(Errors.E615.format(value=trace_noise))
    if not (numpy.isfinite(trace_lag) and trace_lag >= 0):
        raise ConfigError(Errors.E616.format(value=trace_lag))
    unknown = sorted(set(held_out) - set(CATS))
    if unknown:
        raise ConfigError(Errors.E602.format(unknown=unknown, known=sorted(CATS)))
    out_dir = Path(out_dir)
    rng = numpy.random.default_rng(seed)
    world = World(rng, int(feature_width))
    used: Set[str] = set()
    splits = {
        "val": generate_scenes(n_labelled, rng, world, used, held_out),
        "test": generate_scenes(n_test, rng, world, used),
        "train": generate_scenes(n_unlabelled, rng, world, used),
    }
    for split, scenes in splits.items():
        write_features(out_dir / "faster_rcnn_image_features", split, scenes, int(feature_width))
    labelled = {split: splits[split] for split in ("val", "test")}
    write_cin(out_dir, labelled)
    write_ln(out_dir, splits["train"], rng, trace_noise=trace_noise, trace_lag=trace_lag)
    # The labelled and test images' traces from their own generator: the
    # rest of the data set is the same whatever the trace settings.
    trace_rng = numpy.random.default_rng([seed, 1])
    for split in ("val", "test"):
        write_traces(out_dir, splits[split], trace_rng, trace_noise, trace_lag)
    counts = write_phenomena(out_dir / "synth_phenomena.json", labelled, held_out)
    return {
        "images": {split: len(scenes) for split, scenes in splits.items()},
        "regions": {split: int(sum(len(s.boxes) for s in scenes)) for split, scenes in splits.items()},
        "mentions": {split: sum(len(s.mentions) for s in scenes) for split, scenes in labelled.items()},
        "chains": {split: sum(len(s.chains()) for s in scenes) for split, scenes in labelled.items()},
        "phenomena": dict(sorted(counts.items())),
        "feature_width": int(feature_width),
        "seed": int(seed),
        "held_out": sorted(held_out),
        "trace_noise": float(trace_noise),
        "trace_lag": float(trace_lag),
    }

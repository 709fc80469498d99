"""The `image_regions` component: put it at the head of a pipeline and docs
that carry an image (`doc._.image`: a path, the bytes of an image file or an
array) get `doc._.image_regions` from a region extractor.

Why a component rather than `nlp.pipe(..., as_tuples=True)`: spaCy passes a
tuple's context around the pipeline, never to its components, so the regions
could only be made outside it, one call per batch that every user writes
again. As a component the extractor is part of the pipeline's config (saved
with it, so a trained pipeline says which extractor it expects), `nlp.pipe`
hands it whole batches (images are detected and encoded batch by batch, and
`n_process` works), and `nlp(doc)` and `nlp.pipe(docs)` give the same
regions. The image rides on the doc, as spaCy components pass everything:
`make_image_doc(nlp, text, image)` makes such a doc, and a doc without an
image goes through untouched (the coref component then works text-only).
"""
import multiprocessing
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch

from ..convert.common import normalize_image_id
from ..errors import Errors, RegionsError
from .extractor import RegionExtractor
from .provenance import trained_regions

IMAGE_ATTR = "image"
DEFAULT_EXTRACTOR = {
    "@misc": "mcr_spacy.region_extractor.v1",
    "detector": {"@misc": "mcr_spacy.ssd_mobilenet_v2_coco.v1"},
    "encoder": {"@misc": "mcr_spacy.efficientnet_lite0_regions.v1"},
    "features": True,
}
DEFAULT_BATCH_SIZE = 8


def install_image_extension() -> None:
    """`doc._.image`: the image of a doc, for the image_regions component."""
    if not Doc.has_extension(IMAGE_ATTR):
        Doc.set_extension(IMAGE_ATTR, default=None)


install_image_extension()


@Language.factory(
    "image_regions",
    assigns=["doc._.image_regions"],
    requires=["doc._.image"],
    default_config={"extractor": DEFAULT_EXTRACTOR, "overwrite": False},
)
def make_image_regions(nlp: Language, name: str, extractor: RegionExtractor, overwrite: bool) -> "ImageRegionsComponent":
    """Extract `doc._.image_regions` from `doc._.image` (a path, image bytes or
    an array), a batch of images at a time. `overwrite`: replace regions a doc
    already has."""
    return ImageRegionsComponent(extractor, name, overwrite=overwrite)


class ImageRegionsComponent(Pipe):
    """Sets `doc._.image_regions` from `doc._.image`. After extraction a path
    stays in `doc._.image` as a string; bytes and arrays are dropped, so that
    docs stay small in a DocBin."""

    def __init__(self, extractor: RegionExtractor, name: str = "image_regions", *, overwrite: bool = False) -> None:
        self.extractor = extractor
        self.name = name
        self.overwrite = overwrite
        self._threads_checked_in: Optional[int] = None

    def __call__(self, doc: Doc) -> Doc:
        self.set_regions([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Doc]:
        """Process docs in batches: each batch's images are read, detected and
        encoded together."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.set_regions(docs)
            except Exception as err:
                error_handler(self.name, self, docs, err)
            yield from docs

    def set_regions(self, docs: List[Doc]) -> None:
        """Extract and set the regions of the docs that have an image (and,
        unless `overwrite`, no regions yet)."""
        todo = [doc for doc in docs if doc._.image is not None and (self.overwrite or doc._.image_regions is None)]
        if not todo:
            return
        self._one_thread_in_worker()
        images = [self.extractor.read(doc._.image, name=_image_name(doc._.image)) for doc in todo]
        ids = [_image_id(doc._.image) for doc in todo]
        for doc, regions in zip(todo, self.extractor(images, ids)):
            doc._.image_regions = regions
            doc._.image = str(doc._.image) if isinstance(doc._.image, (str, Path)) else None

    def _one_thread_in_worker(self) -> None:
        """In a worker of `nlp.pipe(n_process=...)`, run torch on one thread (as
        multimodal_coref does): the workers share the cores, and GNU OpenMP's
        thread pool does not survive fork(). (OpenCV's own pool is left alone:
        resizing it in a forked worker can hang.)"""
        if self._threads_checked_in != os.getpid():
            self._threads_checked_in = os.getpid()
            if multiprocessing.parent_process() is not None:
                from ..ml.torch.threads import set_torch_threads

                set_torch_threads(1)

    # Nothing to save: the extractor's weights come from installed packages,
    # and its settings are in the pipeline's config.
    def to_disk(self, path: Any, *, exclude: Iterable[str] = tuple()) -> None:
        pass

    def from_disk(self, path: Any, *, exclude: Iterable[str] = tuple()) -> "ImageRegionsComponent":
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        return b""

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "ImageRegionsComponent":
        return self


def _image_name(image: Any) -> Optional[str]:
    return repr(str(image)) if isinstance(image, (str, Path)) else None


def _image_id(image: Any) -> Optional[str]:
    return normalize_image_id(Path(image).stem) if isinstance(image, (str, Path)) else None


def make_image_doc(nlp: Language, text: str, image: Any) -> Doc:
    """A doc of `text` that carries `image` (a path, the bytes of an image file,
    an RGB array or a PIL image) for the image_regions component:
    `nlp(make_image_doc(nlp, text, image))`, or for many pairs
    `nlp.pipe(make_image_doc(nlp, t, i) for t, i in pairs)`. A path is kept
    as a string, so that docs can go to `nlp.pipe(n_process=...)` workers
    (as can bytes and arrays; PIL images cannot)."""
    doc = nlp.make_doc(text)
    doc._.image = str(image) if isinstance(image, Path) else image
    return doc


def add_image_regions(nlp: Language, *, name: str = "image_regions", config: Optional[dict] = None) -> ImageRegionsComponent:
    """Add the image_regions component at the head of `nlp`, with the extractor
    its multimodal_coref component was trained for: label-only regions (no
    encoder) for a model trained on labels only, else the default extractor;
    `config` overrides. Refuses (E811) a model trained on features of a width
    the default extractor does not give."""
    from .encoder import EFFICIENTNET_WIDTH

    record = trained_regions(nlp)
    extractor = dict(DEFAULT_EXTRACTOR)
    if record is not None and not record.get("feature_width"):
        extractor.update(encoder=None, features=False)  # label-only regions
    elif record is not None and record["feature_width"] != EFFICIENTNET_WIDTH and config is None:
        raise RegionsError(Errors.E811.format(
            doc="this pipeline", given="the default extractor", width=EFFICIENTNET_WIDTH,
            component=record["component"], trained=record.get("extractor") or "an unrecorded extractor",
            expected=record["feature_width"],
        ))
    cfg = {"extractor": extractor}
    cfg.update(config or {})
    return nlp.add_pipe("image_regions", name=name, first=True, config=cfg)

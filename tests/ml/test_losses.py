"""The numpy and torch twins agree: what prediction computes with numpy and
what training computes with torch are the same functions."""
import numpy
import pytest
import torch

from mcr_spacy.annotation.boxes import apply_deltas_many
from mcr_spacy.ml.torch.losses import apply_deltas, coreference_similarity
from mcr_spacy.ml.torch.packing import NEG_INF
from mcr_spacy.pipeline.decoding import batch_similarities, grounding_probs


def padded_logits(rng, lengths, n_regions):
    """Grounding logits of a batch as the module gives them: columns past a
    doc's own regions at NEG_INF."""
    width = max(n_regions) + 1
    logits = rng.normal(0, 3, (sum(lengths), width)).astype("float32")
    doc_of = numpy.repeat(numpy.arange(len(lengths)), lengths)
    for row, doc in enumerate(doc_of):
        logits[row, n_regions[doc] + 1:] = NEG_INF
    return logits, doc_of


@pytest.mark.parametrize("agreement", [0.0, 0.3, 1.0])
@pytest.mark.parametrize(
    "lengths,n_regions",
    [([4, 0, 1, 7], [3, 2, 0, 5]), ([3, 5], [0, 0]), ([6], [1])],
)
def test_similarities_numpy_equal_torch(lengths, n_regions, agreement):
    """Decoding's pairwise scores (numpy, per doc of a padded batch) equal the
    training loss's (torch, over the whole batch) on each doc's mentions,
    docs without regions included."""
    rng = numpy.random.default_rng(sum(lengths) + len(n_regions))
    embeddings = rng.normal(size=(sum(lengths), 8)).astype("float32")
    embeddings /= numpy.linalg.norm(embeddings, axis=1, keepdims=True)
    logits, doc_of = padded_logits(rng, lengths, n_regions)
    probs = grounding_probs(logits, dtype="float32")
    by_doc = batch_similarities(embeddings, probs, lengths, n_regions, agreement)
    has_regions = torch.as_tensor(numpy.asarray(n_regions)[doc_of] > 0)
    batch = coreference_similarity(
        torch.as_tensor(embeddings), torch.as_tensor(logits), agreement, has_regions
    ).numpy()
    starts = numpy.cumsum([0] + lengths)
    for d, n in enumerate(lengths):
        rows = slice(starts[d], starts[d] + n)
        assert by_doc[d, :n, :n] == pytest.approx(batch[rows, rows], abs=1e-5)
    if agreement and any(n_regions):
        # The grounding agreement changed the scores: the check above saw it.
        cosines = batch_similarities(embeddings, probs, lengths, n_regions, 0.0)
        assert not numpy.allclose(cosines, by_doc, atol=1e-3)


def test_box_deltas_numpy_equal_torch():
    """Prediction's refined boxes (numpy, pixels, clipped to the image) equal
    the bbox loss's (torch, normalised coordinates) scaled and clipped, for
    ordinary boxes, zero-size boxes and log-scale deltas past the clamp."""
    rng = numpy.random.default_rng(0)
    sizes = rng.uniform(50, 800, (40, 2))
    corner = rng.uniform(0, 0.6, (40, 2)) * sizes
    extent = rng.uniform(0, 0.4, (40, 2)) * sizes
    extent[:8] = 0.0  # zero-size boxes
    extent[8:16] *= 0.005  # small boxes, so that a missing clamp would show past the clipping
    boxes = numpy.concatenate([corner, corner + extent], axis=1)
    deltas = rng.normal(0, 2, (40, 4))
    deltas[8:16, 2:] = rng.uniform(25, 80, (8, 2))  # dw, dh past the clamp (weight 5)
    deltas[16:20, 2:] = -40.0  # large shrinking: no clamp below
    expected = apply_deltas_many(boxes, deltas, sizes)
    scale = numpy.tile(sizes, 2)
    refined = apply_deltas(torch.as_tensor(boxes / scale), torch.as_tensor(deltas)).numpy()
    assert expected == pytest.approx(numpy.clip(refined, 0.0, 1.0) * scale, rel=1e-9, abs=1e-9)
    # In float32, as the loss runs, the same within float32 precision.
    refined32 = apply_deltas(
        torch.as_tensor(boxes / scale, dtype=torch.float32), torch.as_tensor(deltas, dtype=torch.float32)
    ).numpy()
    assert expected == pytest.approx(numpy.clip(refined32, 0.0, 1.0) * scale, abs=1e-3)
    # The clamped rows grew by exactly 1000 / 16 (before clipping) in both.
    width = numpy.maximum((boxes[8:16, 2] - boxes[8:16, 0]) / sizes[8:16, 0], 1e-4)
    grown = refined[8:16, 2] - refined[8:16, 0]
    assert grown == pytest.approx(width * 1000 / 16, rel=1e-9)

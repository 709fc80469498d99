import numpy
import pytest
import spacy

from mcr_spacy.errors import DataFormatError
from mcr_spacy.ml.traces import (
    chance_corrected_agreement, doc_trace_boxes, docs_trace_overlap, mention_trace_overlap, trace_target,
)

# Two regions: left half and right half of the image (normalised).
REGIONS = numpy.asarray([[0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]], dtype="float32")


def trace_of(rows):
    trace = numpy.zeros((len(rows), 5), dtype="float32")
    for i, box in enumerate(rows):
        if box is not None:
            x1, y1, x2, y2 = box
            trace[i] = [x1, y1, x2, y2, (x2 - x1) * (y2 - y1)]
    return trace


LEFT, RIGHT = (0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 1.0, 1.0)


def test_overlap_is_the_mean_iou_over_the_mention_tokens():
    trace = trace_of([LEFT, LEFT, RIGHT, None])
    overlap = mention_trace_overlap(trace, numpy.asarray([[0, 2], [2, 3], [3, 4]]), REGIONS, window=0)
    numpy.testing.assert_allclose(overlap[0], [1.0, 0.0])
    numpy.testing.assert_allclose(overlap[1], [0.0, 1.0])
    # a token without a trace point counts for nothing: no overlap at all
    numpy.testing.assert_allclose(overlap[2], [0.0, 0.0])


def test_window_reads_a_late_pointer():
    # The narrator names the thing at token 1 but points at it one token later.
    trace = trace_of([None, None, RIGHT, None])
    mention = numpy.asarray([[1, 2]])
    assert not mention_trace_overlap(trace, mention, REGIONS, window=0).any()
    overlap = mention_trace_overlap(trace, mention, REGIONS, window=1)
    assert overlap[0].argmax() == 1 and overlap[0, 1] == pytest.approx(1.0)


def test_the_whole_narration_is_read_at_one_lag():
    # Two things named back to back (tokens 1 and 2), the pointer one token
    # late throughout: read at lag 1, each mention gets its own thing alone,
    # where a window around each would mix the two.
    trace = trace_of([None, None, LEFT, RIGHT])
    mentions = numpy.asarray([[1, 2], [2, 3]])
    overlap = mention_trace_overlap(trace, mentions, REGIONS, window=1)
    numpy.testing.assert_allclose(overlap, [[1.0, 0.0], [0.0, 1.0]])
    # An early pointer likewise; and a pointer on time stays at lag 0 even
    # when another lag fits as well (token 0 repeats token 1's box).
    early = trace_of([LEFT, RIGHT, None, None])
    numpy.testing.assert_allclose(mention_trace_overlap(early, mentions, REGIONS, window=1), [[1.0, 0.0], [0.0, 1.0]])
    on_time = trace_of([LEFT, LEFT, RIGHT, None])
    numpy.testing.assert_allclose(mention_trace_overlap(on_time, mentions, REGIONS, window=1), [[1.0, 0.0], [0.0, 1.0]])


def test_no_trace_or_no_regions_gives_zeros_of_the_right_shape():
    mentions = numpy.asarray([[0, 1], [1, 2]])
    assert mention_trace_overlap(None, mentions, REGIONS, 1).shape == (2, 2)
    assert not mention_trace_overlap(None, mentions, REGIONS, 1).any()
    assert mention_trace_overlap(trace_of([LEFT, LEFT]), mentions, REGIONS[:0], 1).shape == (2, 0)


def test_trace_target_is_a_distribution_only_where_the_trace_points_at_a_region():
    overlap = numpy.asarray([[0.9, 0.1], [0.1, 0.05]], dtype="float32")
    target = trace_target(overlap, temperature=0.1, min_overlap=0.3)
    assert target[0].sum() == pytest.approx(1.0) and target[0].argmax() == 0
    assert target[0, 0] > 0.99
    assert not target[1].any()  # best overlap 0.1 < 0.3: no target
    softer = trace_target(overlap, temperature=1.0, min_overlap=0.3)
    assert 0.5 < softer[0, 0] < target[0, 0]


def test_chance_corrected_agreement():
    assert chance_corrected_agreement(10, 5, 10) == 1.0
    assert chance_corrected_agreement(5, 5, 10) == 0.0
    assert chance_corrected_agreement(2, 5, 10) == 0.0  # worse than chance: clipped
    assert chance_corrected_agreement(7.5, 5, 10) == pytest.approx(0.5)
    assert chance_corrected_agreement(0, 0, 0) is None


def test_doc_trace_boxes_checks_the_layout():
    nlp = spacy.blank("en")
    doc = nlp("a dog runs")
    assert doc_trace_boxes(doc) is None
    doc._.trace_boxes = trace_of([LEFT, LEFT, None])
    assert doc_trace_boxes(doc).shape == (3, 5)
    doc._.trace_boxes = numpy.zeros((2, 5), dtype="float32")  # per word of another text
    with pytest.raises(DataFormatError, match=r"\[E180\]"):
        doc_trace_boxes(doc)
    doc._.trace_boxes = numpy.full((3, 5), numpy.nan, dtype="float32")
    with pytest.raises(DataFormatError, match=r"\[E180\]"):
        doc_trace_boxes(doc)
    # docs without mentions or regions are not read at all
    assert docs_trace_overlap([doc], [numpy.zeros((0, 2))], [REGIONS], 1)[0].shape == (0, 2)

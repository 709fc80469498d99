"""Grounding accuracy with several predicted boxes per mention: one-to-one
matching, box precision, and the single-box rule unchanged."""
import random

import pytest
import spacy
from spacy.tokens import SpanGroup
from spacy.training import Example

from mcr_spacy import annotate_gold
from mcr_spacy.scoring.metrics import box_iou_inclusive, grounding_accuracy, matched_boxes
from mcr_spacy.scoring.scorer import evaluate_examples, predictions_from_doc

LEFT, RIGHT, FAR = [0, 0, 9, 9], [20, 0, 29, 9], [60, 60, 69, 69]
# Two gold boxes that one predicted box overlaps with IoU >= 0.5 each.
WIDE, HALF_A, HALF_B = [0, 0, 19, 9], [0, 0, 14, 9], [5, 0, 19, 9]


def test_each_predicted_box_matches_one_gold_box():
    assert matched_boxes([LEFT, RIGHT], [LEFT, RIGHT]) == (2, 2)
    assert matched_boxes([LEFT, LEFT], [LEFT, RIGHT]) == (1, 1)  # the same box twice finds one
    assert matched_boxes([LEFT, FAR, RIGHT], [LEFT, RIGHT]) == (2, 2)
    assert matched_boxes([FAR, LEFT], [LEFT]) == (1, 1)
    assert matched_boxes(None, [LEFT]) == (0, 0) and matched_boxes([], [LEFT]) == (0, 0)


def test_a_lone_box_keeps_the_single_region_rule():
    assert box_iou_inclusive(WIDE, HALF_A) >= 0.5 and box_iou_inclusive(WIDE, HALF_B) >= 0.5
    assert matched_boxes(WIDE, [HALF_A, HALF_B]) == (2, 1)
    assert matched_boxes([WIDE], [HALF_A, HALF_B]) == (2, 1)
    # More boxes never count less than the first alone.
    assert matched_boxes([WIDE, FAR], [HALF_A, HALF_B])[0] == 2


def old_rule(gold, predicted, threshold=0.5):
    """Grounding accuracy as one box per mention scored it before."""
    correct = total = 0
    for doc_gold, doc_pred in zip(gold, predicted):
        for mention, _, boxes in doc_gold:
            for box in boxes:
                total += 1
                pred = doc_pred.get(mention)
                correct += pred is not None and box_iou_inclusive(pred, box) >= threshold
    return correct, total


def test_single_boxes_score_as_before():
    rng = random.Random(0)

    def box():
        x, y = rng.randint(0, 40), rng.randint(0, 40)
        return [x, y, x + rng.randint(5, 30), y + rng.randint(5, 30)]

    gold = [[(i, "they" if i % 3 else "a man", [box() for _ in range(rng.randint(0, 3))]) for i in range(60)]]
    def guess(boxes):
        if not boxes or rng.random() < 0.3:
            return box()
        d = rng.randint(-4, 4)
        return [v + d for v in rng.choice(boxes)]

    predicted = [{i: (guess(boxes) if i % 5 else None) for i, _, boxes in gold[0]}]
    as_lists = [{i: (None if b is None else [b]) for i, b in predicted[0].items()}]
    result = grounding_accuracy(gold, predicted)
    assert (result["correct"], result["total"]) == old_rule(gold, predicted)
    assert 0 < result["correct"] < result["total"]
    assert {k: v for k, v in grounding_accuracy(gold, as_lists).items()} == result


def test_box_precision_counts_unmatched_boxes():
    gold = [[("m", "two dogs", [LEFT, RIGHT]), ("n", "a cat", [FAR])]]
    one = grounding_accuracy(gold, [{"m": LEFT, "n": FAR}])
    several = grounding_accuracy(gold, [{"m": [LEFT, RIGHT, [90, 90, 99, 99]], "n": [FAR]}])
    assert (one["correct"], one["box_precision"]) == (2, 1.0)
    assert (several["correct"], several["boxes_matched"], several["boxes_predicted"]) == (3, 3, 4)
    assert several["box_precision"] == pytest.approx(0.75)
    assert grounding_accuracy([[("x", "a cat", [])]], [{"x": LEFT}])["box_precision"] is None


TEXT = "Two dogs run. They play."


def example(with_lists: bool):
    nlp = spacy.blank("en")
    reference = nlp.make_doc(TEXT)
    annotate_gold(reference, [[(0, 8), (14, 18)]], {(0, 8): [LEFT, RIGHT], (14, 18): [LEFT, RIGHT]})
    predicted = nlp.make_doc(TEXT)
    dogs, they = predicted.char_span(0, 8), predicted.char_span(14, 18)
    predicted.spans["coref_mentions"] = SpanGroup(predicted, spans=[dogs, they])
    for span in (dogs, they):
        span._.grounding = {"region": 0, "box": LEFT, "score": 0.6, "refined_box": LEFT}
    if with_lists:
        dogs._.grounding.update(regions=[0, 1], boxes=[LEFT, RIGHT], refined_boxes=[LEFT, FAR])
    return Example(predicted, reference)


def test_evaluate_examples_reads_the_box_lists():
    single = evaluate_examples([example(False)], refined_box_key="refined_box")
    several = evaluate_examples([example(True)], refined_box_key="refined_box")
    assert single["grounding"]["acc"] == pytest.approx(2 / 4)
    assert several["grounding"]["acc"] == pytest.approx(3 / 4)
    assert several["grounding"]["box_precision"] == pytest.approx(1.0)
    assert several["grounding_refined"]["acc"] == pytest.approx(2 / 4)
    assert several["grounding_refined"]["box_precision"] == pytest.approx(2 / 3)
    # Without `several`, callers still get one box per mention.
    _, boxes = predictions_from_doc(example(True).predicted)
    assert boxes[(0, 8)] == [float(v) for v in LEFT]
    _, lists = predictions_from_doc(example(True).predicted, several=True)
    assert lists[(0, 8)] == [[float(v) for v in LEFT], [float(v) for v in RIGHT]]
    assert lists[(14, 18)] == [[float(v) for v in LEFT]]

"""VisPro's pronoun metric on hand-made dialogs with known answers."""
import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

from mcr_spacy.scoring.vispro import pronoun_counts, pronoun_scores

from ..util import SHARED_DATA

WORDS = "A man holds a dog . Is he happy ? Yes , he pets it .".split()
# token spans, inclusive ends: "A man" 0-1, "a dog" 3-4, "he" 7, "he" 12, "it" 14


def dialog(pronoun_info):
    doc = Doc(spacy.blank("en").vocab, words=WORDS)
    doc._.pronoun_info = pronoun_info
    return doc


def offsets(doc, start, end):
    return (doc[start].idx, doc[end].idx + len(doc[end]))


def test_counts_antecedents_put_in_the_pronouns_cluster():
    info = [
        {"current_pronoun": [7, 7], "candidate_NPs": [[0, 1], [3, 4]], "correct_NPs": [[0, 1]], "reference_type": 0, "not_discussed": False},
        {"current_pronoun": [14, 14], "candidate_NPs": [[0, 1], [3, 4], [7, 7], [12, 12]], "correct_NPs": [[3, 4]], "reference_type": 0, "not_discussed": True},
        {"current_pronoun": [12, 12], "candidate_NPs": [[0, 1]], "correct_NPs": [], "reference_type": 2, "not_discussed": False},
    ]
    doc = dialog(info)
    man, dog, he, he2, it = (offsets(doc, *s) for s in ((0, 1), (3, 4), (7, 7), (12, 12), (14, 14)))
    # "he" with the man (right); "it" wrongly with the man and both "he"s.
    clusters = [[man, he, he2, it], [dog]]
    counts = pronoun_counts(doc, clusters)
    assert counts["discussed"] == [1, 1, 1]
    assert counts["not_discussed"] == [0, 3, 1]
    assert counts["all"] == [1, 4, 2]
    scores = pronoun_scores([doc], [clusters])
    assert scores["all"]["p"] == pytest.approx(0.25)
    assert scores["all"]["r"] == pytest.approx(0.5)
    assert scores["all"]["f"] == pytest.approx(2 * 0.25 * 0.5 / 0.75)
    assert scores["not_discussed"]["f"] == 0.0


def test_a_pronoun_outside_every_cluster_predicts_nothing():
    info = [{"current_pronoun": [7, 7], "candidate_NPs": [[0, 1]], "correct_NPs": [[0, 1]], "reference_type": 0, "not_discussed": False}]
    scores = pronoun_scores([dialog(info)], [[]])
    assert scores["discussed"] == {"p": 0.0, "r": 0.0, "f": 0.0, "n": 1}
    assert scores["not_discussed"]["r"] is None


@pytest.mark.skipif(not (SHARED_DATA / "vispro").is_dir(), reason="VisPro's validation file is not in the shared data folder")
def test_gold_clusters_score_perfectly_on_vispro(tmp_path):
    """With the gold clusters as the system, the metric finds nearly every
    annotated antecedent and little else (VisPro's pronoun annotation and its
    clusters agree on all but a few antecedents)."""
    from mcr_spacy.convert.jsonlines import read_jsonlines
    from mcr_spacy.scoring.scorer import gold_from_doc

    path = SHARED_DATA / "vispro" / "val.vispro.1.1.jsonlines"
    docs = list(read_jsonlines(path, spacy.blank("en").vocab))[:100]
    assert all(doc._.speakers is not None and len(doc._.speakers) == len(doc) for doc in docs)
    clusters = [gold_from_doc(doc, "coref_clusters", "mentions")[0] for doc in docs]
    scores = pronoun_scores(docs, clusters)
    assert scores["all"]["p"] > 0.98
    assert scores["all"]["r"] > 0.9
    assert scores["all"]["n"] == scores["discussed"]["n"] + scores["not_discussed"]["n"]
    first = json.loads(path.open().readline())
    assert docs[0]._.pronoun_info == first["pronoun_info"]

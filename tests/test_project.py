"""The demo workflow end to end with the CI configs and tiny sizes."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_project_all_workflow(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project / "project.yml")
    shutil.copytree(ROOT / "configs", project / "configs")
    overrides = {
        "config_dir": "configs/test", "n_labelled": 24, "n_unlabelled": 12, "n_test": 8,
        "feature_width": 16, "mention_steps": 10, "max_steps": 6, "visualize_limit": 2,
    }
    args = [sys.executable, "-m", "spacy", "project", "run", "all", str(project)]
    for key, value in overrides.items():
        args += [f"--vars.{key}", str(value)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    gold = json.loads((project / "metrics" / "test_gold_mentions.json").read_text())
    for key in ("coref_conll_f", "grounding_acc", "baselines"):
        assert key in gold
    assert gold["protocol"] == "gold mentions"
    assert (project / "metrics" / "test_end_to_end.json").exists()
    phenomena = json.loads((project / "metrics" / "phenomena.json").read_text())
    assert set(phenomena) == {"with_image", "text_only", "provenance"}
    assert set(gold["provenance"]) == set(phenomena["provenance"]) == {"machine", "commit", "date"}
    assert (project / "visualize" / "index.html").exists()
    assert (project / "metrics" / "scorch" / "gold").is_dir()
    assert "Coreference" in result.stdout

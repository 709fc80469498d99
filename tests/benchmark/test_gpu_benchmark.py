"""The prepared GPU benchmark script runs in its CPU smoke mode."""
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_benchmark.py"


def test_gpu_benchmark_cpu_smoke_mode(tmp_path):
    output = tmp_path / "gpu.json"
    cmd = [
        sys.executable, str(SCRIPT), "--device", "cpu", "--steps", "3",
        "--encoder-layers", "1", "--n-docs", "3", "--batch-size", "3", "--output", str(output),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "inference" in proc.stdout and "steps/s" in proc.stdout
    result = json.loads(output.read_text())
    assert result["device"] == "cpu"
    assert result["hidden_width"] == 768
    assert result["training"]["steps"] == 3
    assert result["training"]["steps_per_s"] > 0
    for name in ("encoder", "full"):
        assert result["inference"][name]["docs_per_s"] > 0
    assert 0 < result["inference"]["ratio"]

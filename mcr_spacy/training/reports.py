"""What every report the project writes records about its run."""
import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Dict, Optional


def provenance(source_dir: Optional[Path] = None) -> Dict[str, str]:
    """Where and when a report is written: the machine (CPU, cores, Python), the
    git commit of the package source (with "+changes" when the tree differs from
    it; "unknown" outside a git checkout) and the UTC date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    source = source_dir if source_dir is not None else Path(__file__).resolve().parents[2]
    commit = "unknown"
    try:
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", *args], cwd=source, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        commit = run("rev-parse", "--short", "HEAD")
        if run("status", "--porcelain", "--untracked-files=no"):
            commit += "+changes"
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }

"""`python -m mcr_spacy <command>`: data, evaluation, visualisation and benchmarks."""
from ._util import app

# Each command lives in its own module and registers itself on `app`.
from . import convert_jsonlines  # noqa: F401
from . import convert_conll  # noqa: F401
from . import visualize  # noqa: F401
from . import synth  # noqa: F401
from . import convert_cin  # noqa: F401
from . import evaluate  # noqa: F401
from . import convert_ln  # noqa: F401
from . import benchmark  # noqa: F401
from . import train_distributed  # noqa: F401
from . import prepare  # noqa: F401
from . import tune  # noqa: F401
from . import phenomena  # noqa: F401
from . import compare  # noqa: F401
from . import write_docs  # noqa: F401
from . import extract_regions  # noqa: F401
from . import annotate  # noqa: F401
from . import ablation  # noqa: F401

__all__ = ["app"]

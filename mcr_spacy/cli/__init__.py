"""`python -m mcr_spacy <command>`: data, evaluation, visualisation and benchmarks."""
import typer

app = typer.Typer(
    name="mcr_spacy",
    help="Multimodal coreference resolution for spaCy: make and convert data, evaluate, visualise.",
    no_args_is_help=True,
    add_completion=False,
)

# Each command lives in its own module and registers itself on `app`.
from . import _commands  # noqa: E402,F401

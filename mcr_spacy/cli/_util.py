"""What the commands share: the typer app they register on."""
import typer

app = typer.Typer(
    name="mcr_spacy",
    help="Multimodal coreference resolution for spaCy: make and convert data, evaluate, visualise.",
    no_args_is_help=True,
    add_completion=False,
)

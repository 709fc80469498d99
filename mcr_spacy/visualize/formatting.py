"""Small text helpers shared by the HTML and SVG parts of the view, and the
template files (CSS, JavaScript, the page skeleton) they inline."""
import html
from functools import lru_cache
from importlib.resources import files
from typing import Any, Optional

from .view_model import Box


@lru_cache(maxsize=None)
def read_template(name: str) -> str:
    """The text of `templates/{name}`, shipped as package data."""
    return (files(__package__) / "templates" / name).read_text(encoding="utf8")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(v: float) -> str:
    """A number with at most one decimal and no trailing zeros."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def box_text(box: Optional[Box]) -> str:
    return "none" if box is None else "[" + ", ".join(fmt(v) for v in box) + "]"


def short(text: str, n: int = 24) -> str:
    """`text` on one line, cut to `n` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"

import pytest

from mcr_spacy.vision import default_extractor
from mcr_spacy.vision.threads import set_threads


@pytest.fixture(scope="session")
def extractor():
    """The default extractor on one thread (its weights load once per session)."""
    set_threads(1)
    return default_extractor()

"""Registered callbacks for training configs."""
from typing import Callable, List

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

from ..errors import ConfigError, Errors


@registry.callbacks("mcr_spacy.initialize_frozen.v1")
def create_initialize_frozen(components: List[str]) -> Callable[[Language], Language]:
    """A `[initialize.before_init]` callback that initialises the named
    components although they are frozen. spaCy initialises no frozen
    component, so a pretrained transformer that is built from its config
    (not sourced from a saved pipeline) could not otherwise be frozen: kept in
    `frozen_components` and `annotating_components`, it then runs without
    gradients while the components that listen to it train, instead of being
    back-propagated through with a zero `grad_factor`."""

    def initialize_frozen(nlp: Language) -> Language:
        doc = nlp.make_doc("initialize")
        for name in components:
            if name not in nlp.component_names:
                raise ConfigError(Errors.E127.format(name=name, components=nlp.component_names))
            component = nlp.get_pipe(name)
            component.initialize(lambda: [Example(doc, doc)], nlp=nlp)
            # A transformer links its listeners among the enabled components
            # only, and frozen ones are disabled now: link them here.
            find_listeners = getattr(component, "find_listeners", None)
            if find_listeners is not None:
                for _, later in nlp.components[nlp.component_names.index(name):]:
                    find_listeners(later)
        return nlp

    return initialize_frozen

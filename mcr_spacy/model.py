"""The MultimodalCoref architecture (in progress)."""


def build_multimodal_coref_model(*args, **kwargs):
    raise NotImplementedError

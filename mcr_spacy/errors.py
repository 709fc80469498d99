"""Errors that users can cause, each naming the record and the fix."""


class MultimodalCorefError(ValueError):
    """Base class of the errors raised for bad input."""


class RegionsError(MultimodalCorefError):
    """Invalid image regions: shapes, values or boxes."""


class AlignmentError(MultimodalCorefError):
    """Character offsets that do not fall on token boundaries, or gold
    annotation on a different text."""


class DataFormatError(MultimodalCorefError):
    """A data file that does not have the documented format."""


class ConfigError(MultimodalCorefError):
    """A setting that cannot work with the data or the model."""

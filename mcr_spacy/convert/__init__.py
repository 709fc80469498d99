"""Converters from published data formats to `.spacy` corpora."""

"""Synthetic data: the demo's data set in the real CIN / MAF / flk30k_LN file
formats (`generate`), and generated narrations of realistic size for the
benchmark and tests (`generate_narrations`, the reader
`mcr_spacy.GeneratedNarrations.v1`)."""
from .categories import ALL_COLOURS, ANIMAL_COLOURS, CATEGORIES, CATS, COLOURS, Category
from .corpus import create_generated_narrations_reader, narration_doc, narration_example
from .generate import generate
from .narrations import Narration, generate_narration, generate_narrations
from .narrator import Narrator
from .scene import Entity, Mention, Scene
from .scene_generator import SceneGenerator, generate_scenes
from .world import DEFAULT_FEATURE_WIDTH, World
from .writers import ln_words, write_cin, write_features, write_ln, write_phenomena

__all__ = [
    "ALL_COLOURS",
    "ANIMAL_COLOURS",
    "CATEGORIES",
    "CATS",
    "COLOURS",
    "Category",
    "DEFAULT_FEATURE_WIDTH",
    "Entity",
    "Mention",
    "Narration",
    "Narrator",
    "Scene",
    "SceneGenerator",
    "World",
    "create_generated_narrations_reader",
    "generate",
    "generate_narration",
    "generate_narrations",
    "generate_scenes",
    "ln_words",
    "narration_doc",
    "narration_example",
    "write_cin",
    "write_features",
    "write_ln",
    "write_phenomena",
]

"""What the converters share: one spelling of image ids."""
import pytest

from mcr_spacy.convert.common import normalize_image_id


@pytest.mark.parametrize(
    "given,expected",
    [
        # the same everywhere before: ids as the data files write them
        (1016887272, "1016887272"),
        ("1016887272", "1016887272"),
        (" 1016887272.jpg ", "1016887272"),
        ("COCO_val2014_000000000042", "COCO_val2014_000000000042"),
        ("abc.jpg", "abc"),
        # the CIN split lists kept leading zeros, so "0101" missed image 101
        # of the region features' id map (keyed by int)
        ("0101", "101"),
        ("0101.jpg", "101"),
        # the feature stores took anything int() parses for a number
        ("+101", "+101"),
        ("1_01", "1_01"),
        ("\u0661\u0660\u0661", "\u0661\u0660\u0661"),
    ],
)
def test_normalize_image_id(given, expected):
    assert normalize_image_id(given) == expected

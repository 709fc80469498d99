"""Reading images: every kind of input, and bad or odd images get regions or a
clear error, never a crash."""
import io
import struct
import zlib

import numpy
import pytest
from PIL import Image

from mcr_spacy import ImageError
from mcr_spacy.vision import RegionExtractor, read_image

from .fakes import CentreDetector, MeanColourEncoder


def image_bytes(image, fmt="JPEG", **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_read_path_bytes_array_and_pil(tmp_path):
    array = numpy.zeros((20, 30, 3), dtype="uint8")
    array[:, :15] = (255, 0, 0)
    path = tmp_path / "red.png"
    Image.fromarray(array).save(path)
    for source in (path, str(path), path.read_bytes(), array, Image.fromarray(array)):
        loaded = read_image(source)
        assert loaded.size == (30, 20)
        assert loaded.array.shape == (20, 30, 3) and loaded.array.dtype == numpy.uint8
        assert tuple(loaded.array[0, 0]) == (255, 0, 0) and tuple(loaded.array[0, 29]) == (0, 0, 0)


def test_broken_jpeg_is_a_clear_error(tmp_path):
    data = image_bytes(Image.new("RGB", (64, 48), (10, 200, 30)))
    path = tmp_path / "broken.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"\[E802\].*broken\.jpg"):
        read_image(path)
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(ImageError, match=r"\[E802\].*text\.jpg"):
        read_image(tmp_path / "text.jpg")
    with pytest.raises(ImageError, match=r"\[E801\]"):
        read_image(tmp_path / "missing.jpg")


def test_png_with_alpha_is_composited_over_white():
    rgba = numpy.zeros((10, 10, 4), dtype="uint8")
    rgba[:, :5] = (0, 0, 255, 255)  # opaque blue; the right half is transparent
    loaded = read_image(image_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(loaded.array[0, 0]) == (0, 0, 255)
    assert tuple(loaded.array[0, 9]) == (255, 255, 255)
    assert tuple(read_image(rgba).array[0, 9]) == (255, 255, 255)


def test_grayscale_becomes_rgb():
    grey = numpy.full((12, 8), 77, dtype="uint8")
    for source in (grey, image_bytes(Image.fromarray(grey, "L"), "PNG")):
        loaded = read_image(source)
        assert loaded.array.shape == (12, 8, 3)
        assert (loaded.array == 77).all()


def test_exif_orientation_is_applied():
    array = numpy.zeros((20, 40, 3), dtype="uint8")  # 40 wide, 20 high
    array[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show rotated 90 degrees clockwise
    loaded = read_image(image_bytes(Image.fromarray(array), "JPEG", exif=exif.tobytes(), quality=95))
    assert loaded.size == (20, 40)
    assert loaded.array.shape == (40, 20, 3)
    assert loaded.array[2, 10].mean() > 200 and loaded.array[37, 10].mean() < 50  # white on top


def test_bad_arrays_and_types():
    with pytest.raises(ImageError, match=r"\[E805\]"):
        read_image(numpy.zeros((4, 4, 3), dtype="float32"))
    with pytest.raises(ImageError, match=r"\[E804\]"):
        read_image(numpy.zeros((4, 4, 2), dtype="uint8"))
    with pytest.raises(ImageError, match=r"\[E804\]"):
        read_image(numpy.zeros((0, 4, 3), dtype="uint8"))
    with pytest.raises(ImageError, match=r"\[E803\]"):
        read_image(12)


def test_huge_image_is_downscaled_and_boxes_map_back(tmp_path):
    width, height = 6000, 4000
    path = tmp_path / "huge.jpg"
    Image.new("RGB", (width, height), (90, 120, 200)).save(path, quality=80)
    loaded = read_image(path, max_side=1024)
    assert loaded.size == (width, height)
    assert max(loaded.array.shape[:2]) == 1024
    detector = CentreDetector()
    regions = RegionExtractor(detector, MeanColourEncoder(), max_side=1024)([path], ["huge"])[0]
    assert max(detector.seen[0][:2]) == 1024
    assert regions.image_size == (width, height)
    numpy.testing.assert_allclose(regions.boxes[0], [0, 0, width, height], atol=1e-2)
    numpy.testing.assert_allclose(regions.boxes[1], [width / 4, height / 4, 3 * width / 4, 3 * height / 4], rtol=1e-3)


def test_a_decompression_bomb_is_refused():
    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)  # 3.6 billion pixels, no data
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(ImageError, match=r"\[E806\].*image bytes"):
        read_image(data)


def test_one_pixel_image_gets_regions(extractor):
    regions = extractor([numpy.full((1, 1, 3), 128, dtype="uint8")], ["dot"])[0]
    assert regions.image_size == (1, 1)
    assert regions.labels[0] == "image"
    numpy.testing.assert_array_equal(regions.boxes[0], [0, 0, 1, 1])
    assert regions.features.shape == (len(regions), 1280)
    assert numpy.isfinite(regions.features).all()


def test_odd_images_through_the_real_extractor(extractor, tmp_path):
    rng = numpy.random.default_rng(0)
    grey = rng.integers(0, 255, size=(60, 90), dtype="uint8")
    rgba = rng.integers(0, 255, size=(50, 40, 4), dtype="uint8")
    tall = rng.integers(0, 255, size=(900, 20, 3), dtype="uint8")
    results = extractor([grey, rgba, tall], ["grey", "rgba", "tall"])
    assert [r.image_size for r in results] == [(90, 60), (40, 50), (20, 900)]
    for regions in results:
        assert regions.features.shape == (len(regions), 1280)
        assert (regions.boxes[:, 2] <= regions.image_size[0]).all()

"""Pictures as --input: Pillow's pixels, judged here with numpy from the bytes we wrote, and
hostile files refused with one line."""

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from convtrace.core.errors import ConvtraceError
from convtrace.scenario import images
from convtrace.scenario.images import load_picture, parse_resize


@pytest.fixture
def rgb_png(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / "pic.png"
    Image.fromarray(pixels, "RGB").save(path)
    return path, pixels


def test_greyscale_is_itu_601_luma(rgb_png):
    path, p = rgb_png
    x = load_picture(path, 10_000)
    r, g, b = (p[..., i].astype(np.int64) for i in range(3))
    judge = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16  # L = 0.299 R + 0.587 G + 0.114 B
    assert x.shape == (1, 1, 5, 7)
    np.testing.assert_array_equal(x[0, 0], judge)


def test_rgb_keeps_the_channels_and_normalize_divides(rgb_png):
    path, p = rgb_png
    x = load_picture(path, 10_000, rgb=True)
    np.testing.assert_array_equal(x[0], p.transpose(2, 0, 1))
    np.testing.assert_allclose(load_picture(path, 10_000, rgb=True, normalize=True), x / 255)


@pytest.mark.parametrize("suffix", [".jpg", ".bmp", ".gif"])
def test_other_formats(tmp_path, suffix):
    path = tmp_path / f"flat{suffix}"
    Image.new("L", (6, 4), 200).save(path)
    x = load_picture(path, 1000, resize="3x2")
    assert x.shape == (1, 1, 3, 2) and np.all(np.abs(x - 200) <= 2)


def test_resize_forms():
    assert parse_resize(28) == (28, 28) and parse_resize("28x20") == (28, 20)
    with pytest.raises(ConvtraceError):
        parse_resize("big")


def _png_header_only(path, width, height):
    """A PNG whose header declares width×height and holds no pixel data."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_hostile_pictures_are_one_line(tmp_path, invoke_cli):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64), np.uint8)).save(full)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    for path, words in ((bomb, "decompression bomb"), (corrupt, "corrupt"),
                        (truncated, "cannot be read")):  # fmt: skip
        result = invoke_cli("run", "--input", path)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: --input") and words in lines[0]


def test_element_budget_after_resizing(invoke_cli):
    refused = invoke_cli("run", "--input", "examples/digit3.png", "--max-elements", "400")
    assert refused.exit_code == 2 and "--resize" in refused.output
    fits = invoke_cli("run", "--input", "examples/digit3.png", "--resize", "8", "--max-elements",
                      "400", "--json", "--only", "input")  # fmt: skip
    assert fits.exit_code == 0, fits.output
    assert json.loads(fits.stdout)["scenario"]["input_shape"] == [1, 1, 8, 8]


def test_picture_options_need_a_picture(invoke_cli):
    result = invoke_cli("run", "--input", "examples/digit.npy", "--resize", "8")
    assert result.exit_code == 2 and "picture" in result.output


def test_scenario_file_takes_a_picture(tmp_path, invoke_cli):
    Image.open("examples/digit3.png").save(tmp_path / "d.png")
    (tmp_path / "s.toml").write_text('input = "d.png"\nresize = "10x12"\nnormalize = true\n')
    result = invoke_cli("run", "--scenario", tmp_path / "s.toml", "--json")
    assert result.exit_code == 0, result.output
    x = np.array(
        next(s for s in json.loads(result.stdout)["stages"] if s["name"] == "input")["values"]
    )
    assert x.shape == (1, 1, 10, 12) and 0 <= x.min() and x.max() <= 1


def test_source_pixel_limit_is_judged_from_the_header(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_SOURCE_PIXELS", 100)
    path = tmp_path / "big.png"
    Image.new("L", (20, 20)).save(path)
    with pytest.raises(ConvtraceError, match="decompression bomb"):
        load_picture(path, 10_000, resize=4)


def test_example_picture_is_what_make_picture_draws():
    """examples/digit3.png is reproducible from examples/make_picture.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_picture", "examples/make_picture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = np.asarray(module.draw_three())
    stored = np.asarray(Image.open("examples/digit3.png"))
    assert drawn.shape == (28, 28) and np.array_equal(drawn, stored) and drawn.max() == 255

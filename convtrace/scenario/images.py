"""Pictures as input: ``--input digit.png`` (PNG, JPEG, BMP, GIF) read with Pillow.

Greyscale by default (one channel, Pillow's ``L``: 0.299·R + 0.587·G + 0.114·B), ``--rgb`` for
three channels; ``--resize 28`` (square) or ``--resize 28x20`` (H×W) with Pillow's bilinear
filter; the values stay whole numbers 0–255 unless ``--normalize`` divides them by 255.
The result is (1, C, H, W). A picture is untrusted data: its size is read from the header and
judged before any pixel is decoded (a decompression bomb is refused), a corrupt or truncated
file is one line, and the array after resizing must fit the element budget.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ..core.errors import InputFileError, ParameterError
from ..i18n import _

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: the picture options (CLI names) and their defaults
PICTURE_OPTIONS = {"rgb": False, "resize": None, "normalize": False}
#: pixels a picture may declare before anything is decoded (a 12-megapixel photo is fine)
MAX_SOURCE_PIXELS = 64_000_000


def is_picture(path) -> bool:
    return isinstance(path, (str, Path)) and Path(str(path)).suffix.lower() in PICTURE_SUFFIXES


def parse_resize(value) -> tuple[int, int] | None:
    """``28`` / ``"28"`` -> (28, 28); ``"28x20"`` -> (28, 20) (H×W); None stays None."""
    if value is None:
        return None
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d{1,5})(?:\s*[x×]\s*(\d{1,5}))?", text)
    if match is None:
        raise ParameterError(
            _("--resize {value!r}: give a size such as 28 or HxW such as 28x20").format(
                value=str(value)[:40]
            )
        )
    h = int(match.group(1))
    w = int(match.group(2)) if match.group(2) else h
    if h < 1 or w < 1:
        raise ParameterError(_("--resize {value!r}: sizes start at 1").format(value=text))
    return h, w


def check_picture_options(path, options: dict) -> None:
    """The picture options only mean something for a picture --input."""
    given = [f"--{k}" for k, v in options.items() if v not in (None, False)]
    if given and not is_picture(path):
        raise ParameterError(
            _("{options} applies to a picture --input ({suffixes})").format(
                options=", ".join(given), suffixes=", ".join(PICTURE_SUFFIXES)
            )
        )


def load_picture(path, max_elements: int, *, rgb: bool = False, resize=None,
                 normalize: bool = False, option: str = "--input") -> np.ndarray:  # fmt: skip
    """The picture at ``path`` as a float64 array (1, C, H, W) (see the module's docstring)."""
    from PIL import Image, UnidentifiedImageError

    size = parse_resize(resize)
    path = Path(path)
    channels = 3 if rgb else 1

    def refuse(reason: str):
        return InputFileError(
            _("{option} {path}: {reason}").format(option=option, path=path, reason=reason)
        )

    if not path.is_file():
        what = _("is a directory, not a file") if path.is_dir() else _("does not exist")
        raise InputFileError(_("{option} {path} {what}").format(option=option, path=path,
                                                                 what=what))  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size  # from the header: nothing decoded yet
                if width * height > MAX_SOURCE_PIXELS:
                    raise refuse(
                        _("the picture declares {w}×{h} pixels, more than {limit:,}: refused "
                          "(a decompression bomb?)").format(w=width, h=height,
                                                           limit=MAX_SOURCE_PIXELS)
                    )  # fmt: skip
                out_h, out_w = size or (height, width)
                if channels * out_h * out_w > max_elements:
                    raise refuse(
                        _("the picture would hold {count:,} numbers ({c}×{h}×{w}), more than "
                          "--max-elements {limit:,}; use --resize").format(
                            count=channels * out_h * out_w, c=channels, h=out_h, w=out_w,
                            limit=max_elements)
                    )  # fmt: skip
                image.seek(0)  # an animated GIF: its first frame
                image = image.convert("RGB" if rgb else "L")
                if size is not None and (out_h, out_w) != (height, width):
                    image = image.resize((out_w, out_h), Image.Resampling.BILINEAR)
                pixels = np.asarray(image, dtype=np.float64)
    except InputFileError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refuse(
            _("the picture is too large to decode safely (a decompression bomb?)")
        ) from None
    except UnidentifiedImageError:
        raise refuse(_("not a picture Pillow can read (corrupt, or not an image)")) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = " ".join(str(error).split())[:120] or type(error).__name__
        raise refuse(_("the picture cannot be read ({reason})").format(reason=reason)) from None
    if normalize:
        pixels = pixels / 255.0
    if pixels.ndim == 2:
        return pixels.reshape(1, 1, *pixels.shape)
    return pixels.transpose(2, 0, 1).reshape(1, channels, *pixels.shape[:2])

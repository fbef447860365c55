"""Request images to the model's input: decoded, resized and checked as `npm run serve` does them."""

import base64
import binascii
import io
import re

import numpy as np

from .resize import resize_rgba

PNG_SIGNATURE = b"\x89PNG"
JPEG_SIGNATURE = b"\xff\xd8\xff"
_DATA_URL_PREFIX = re.compile(r"^data:[^,;]*;base64,", re.IGNORECASE)
# Pillow's modes for 16-bit grey PNGs; every other colour type it reads as 8 bits a sample already.
_WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I")
PIXEL_RANGES = ("0-255", "0-1")


class ImageError(ValueError):
    """An image the model cannot score; the message names it (e.g. `image 3`) and what was expected."""


def is_encoded(data):
    return data.startswith(PNG_SIGNATURE) or data.startswith(JPEG_SIGNATURE)


def encoded_bytes(item, where):
    """The PNG or JPEG file in `item`: its bytes, or its base64 text (str or bytes, a `data:` URL too).

    MLflow's scoring server hands binary columns over already decoded from base64 for
    `dataframe_split`, but as the base64 text itself for `instances` and `inputs`; both are accepted.
    """
    if isinstance(item, (bytearray, memoryview)):
        item = bytes(item)
    if isinstance(item, bytes) and is_encoded(item):
        return item
    if isinstance(item, bytes):
        try:
            item = item.decode("ascii")
        except UnicodeDecodeError:
            raise ImageError(f"{where}: not a PNG or JPEG image (its first bytes are {item[:4].hex(' ') or '(none)'})") from None
    text = re.sub(r"\s+", "", _DATA_URL_PREFIX.sub("", item))
    if not text:
        raise ImageError(f"{where}: empty; expected a PNG or JPEG image (its bytes, or base64 text)")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"{where}: neither PNG/JPEG bytes nor valid base64; expected a PNG or JPEG image") from None
    if not is_encoded(data):
        raise ImageError(f"{where}: not a PNG or JPEG image (its first bytes are {data[:4].hex(' ') or '(none)'})")
    return data


def decode_rgba(data, where):
    """8-bit RGBA pixels of a PNG or JPEG, as the trainer's decoder reads them.

    16-bit samples become 8-bit ones rounded as the trainer's decoder rounds them, (v + 128) // 257,
    for grey images; Pillow reads 16-bit colour ones with their top 8 bits, one level below now and
    then. JPEG decoders differ by a level here and there too. 8-bit PNGs, what the NIH set and the
    trainer's own files are, come out identical.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode in _WIDE_GREY_MODES:
                grey = ((np.asarray(image).astype(np.uint32) + 128) // 257).astype(np.uint8)
                rgba = np.empty(grey.shape + (4,), np.uint8)
                rgba[..., :3] = grey[..., None]
                rgba[..., 3] = 255
                return rgba
            return np.asarray(image.convert("RGBA"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{where}: corrupt or truncated image: {error}") from None


def pixel_array_rgba(value, where, pixel_range="0-255"):
    """A height x width x 3 array of 0-255 integers (or of 0-1 numbers, when declared) as opaque RGBA."""
    if pixel_range not in PIXEL_RANGES:
        raise ImageError(f'pixel_range must be one of {", ".join(PIXEL_RANGES)}; got {pixel_range!r}')
    try:
        array = np.asarray(value)
    except ValueError:
        raise ImageError(f"{where}: rows of unequal length; expected height x width x 3 numbers") from None
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"{where}: pixel array of shape {array.shape}; expected height x width x 3 numbers")
    if array.dtype.kind not in "uif":
        raise ImageError(f"{where}: pixel array of {array.dtype}; expected numbers")
    if pixel_range == "0-255":
        bad = (array < 0) | (array > 255) | (array != np.floor(array))
        expected = 'integers from 0 to 255 (for floats from 0 to 1, pass params={"pixel_range": "0-1"})'
    else:
        bad = (array < 0) | (array > 1) | np.isnan(array)
        expected = 'numbers from 0 to 1, as params={"pixel_range": "0-1"} declares'
    if bad.any():
        y, x, c = (int(i) for i in np.argwhere(bad)[0])
        raise ImageError(f"{where}: pixel [{y}][{x}][{c}] is {array[y, x, c].item()!r}; expected {expected}")
    rgb = array if pixel_range == "0-255" else np.floor(array.astype(np.float64) * 255 + 0.5)
    rgba = np.empty(array.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = rgb.astype(np.uint8)
    rgba[..., 3] = 255
    return rgba


def check_aspect_ratio(width, height, where, contract):
    """The warning for an oblong image, None when it is near square; an ImageError when it is too far from square."""
    ratio = max(width, height) / min(width, height)
    shape = f"{width}x{height} px (aspect ratio {ratio:.2f})"
    if ratio > contract["refuse_aspect_ratio_above"]:
        raise ImageError(
            f"{where}: {shape} is too far from square (more than {contract['refuse_aspect_ratio_above']:g}:1); "
            "the model scores single-cell crops stretched to a square: crop the image around one cell"
        )
    if ratio > contract["warn_aspect_ratio_above"]:
        return (
            f"image is {shape}; stretched to a square for the model, the cell is distorted "
            f"(best under {contract['warn_aspect_ratio_above']:g}:1)"
        )
    return None


def to_model_input(rgba, size):
    """size x size RGB bytes: resized as in training, alpha composited over black (the slides' background)."""
    resized = resize_rgba(rgba, size)
    alpha = resized[..., 3:4].astype(np.uint32)
    blended = (resized[..., :3].astype(np.uint32) * alpha + 127) // 255
    return np.where(alpha == 255, resized[..., :3], blended.astype(np.uint8))

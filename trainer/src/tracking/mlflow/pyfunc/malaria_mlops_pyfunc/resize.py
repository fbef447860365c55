"""Resizing exactly as the trainer does, so the model sees the pixels it was trained and tested on.

The trainer (and `npm run serve`) decode images with @napi-rs/image, whose `fastResize` (bilinear
filter, fit "fill") is the fast_image_resize crate (6.x) on 8-bit RGBA pixels: alpha premultiplied,
a convolution whose kernel widens with the scale (so shrinking averages every covered pixel), done
in fixed point, first down the columns and then along the rows, each pass rounded to 8 bits, and
alpha divided out again. Pillow's bilinear resize is the same filter but runs the passes in the
other order and rounds differently: one level off on a fifth of the pixels, enough to move a
probability in the third decimal. So the crate's integer arithmetic is reproduced here, step for
step (src/convolution/mod.rs, optimisations.rs, alpha/common.rs and resizer.rs of that crate).
"""

import math

import numpy as np

# Fixed point of the 8-bit convolution: coefficients are i16, sums i32 with 8 bits of result and 2
# of headroom.
_PRECISION_BITS = 32 - 8 - 2
_MAX_COEFFS_PRECISION = 16 - 1
# Reciprocals for dividing alpha out, with 8 fractional bits.
_ALPHA_PRECISION = 8
_RECIP_ALPHA = np.array(
    [0] + [((255 * (1 << (_ALPHA_PRECISION + 1))) // a + 1) >> 1 for a in range(1, 256)], dtype=np.uint32
)


def _round_half_away(value):
    """Rust's f64::round for the non-negative weights of the bilinear filter (numpy rounds half to even)."""
    return math.floor(value + 0.5)


def _bilinear(x):
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _coefficients(in_size, out_size):
    """Per output pixel: the first input pixel and the i16 weights, and their fixed-point precision."""
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    radius = 1.0 * filter_scale
    recip_filter_scale = 1.0 / filter_scale
    rows = []
    for out_x in range(out_size):
        in_center = (out_x + 0.5) * scale
        x_min = int(max(math.floor(in_center - radius), 0.0))
        x_max = int(min(math.ceil(in_center + radius), float(in_size)))
        center = in_center - 0.5
        start, end = x_min, x_max
        weights = []
        total = 0.0
        for x in range(x_min, x_max):
            w = _bilinear((x - center) * recip_filter_scale)
            if x == start and w == 0.0:
                start += 1
            else:
                weights.append(w)
                total += w
        for w in reversed(weights):
            if end <= start or w != 0.0:
                break
            end -= 1
        if total != 0.0:
            weights = [w / total for w in weights]
        rows.append((start, weights[: end - start]))
    # The padding of each window holds zeros, which cannot raise the maximum.
    max_weight = max((max(w) for _, w in rows if w), default=0.0)
    precision = 0
    for candidate in range(_PRECISION_BITS):
        precision = candidate
        if _round_half_away(max_weight * (1 << (precision + 1))) >= (1 << _MAX_COEFFS_PRECISION):
            break
    fixed = (1 << precision)
    matrix = np.zeros((out_size, in_size), dtype=np.int64)
    for out_x, (start, weights) in enumerate(rows):
        for k, w in enumerate(weights):
            matrix[out_x, start + k] = _round_half_away(w * fixed)
    return matrix, precision


def _convolve(pixels, axis, out_size):
    """One pass along `axis` (0: down the columns, 1: along the rows) of an (H, W, 4) uint8 image."""
    matrix, precision = _coefficients(pixels.shape[axis], out_size)
    moved = np.moveaxis(pixels.astype(np.int64), axis, 0)
    sums = np.tensordot(matrix, moved, axes=([1], [0])) + (1 << (precision - 1))
    out = np.clip(sums >> precision, 0, 255).astype(np.uint8)
    return np.moveaxis(out, 0, axis)


def multiply_alpha(rgba):
    """Premultiplies RGB by alpha with the crate's rounding ((v * a + 128) * 257 >> 16)."""
    out = rgba.copy()
    alpha = rgba[..., 3:4].astype(np.uint32)
    tmp = rgba[..., :3].astype(np.uint32) * alpha + 128
    out[..., :3] = (((tmp >> 8) + tmp) >> 8).astype(np.uint8)
    return out


def divide_alpha(rgba):
    """Divides premultiplied RGB by alpha, through the crate's reciprocal table, clipped to 255."""
    out = rgba.copy()
    recip = _RECIP_ALPHA[rgba[..., 3:4]]
    values = (rgba[..., :3].astype(np.uint32) * recip + (1 << (_ALPHA_PRECISION - 1))) >> _ALPHA_PRECISION
    out[..., :3] = np.minimum(values, 255).astype(np.uint8)
    return out


def resize_rgba(rgba, size):
    """What `fastResize({width: size, height: size, filter: Bilinear, fit: Fill})` returns for (H, W, 4) uint8 RGBA.

    @napi-rs/image premultiplies alpha itself and asks the resizer to do it as well, so an image
    that is actually resized is premultiplied and divided twice; one of the same size is copied
    (premultiplied and divided once). For opaque images all of this changes nothing.
    """
    premultiplied = multiply_alpha(rgba)
    height, width = rgba.shape[:2]
    if (height, width) == (size, size):
        return divide_alpha(premultiplied)
    image = multiply_alpha(premultiplied)
    if width != size and height != size:
        # The crate's order for 8-bit pixels: the vertical pass first, on the columns the
        # horizontal one reads, then the horizontal pass. Columns outside every window are not
        # read, so convolving all of them gives the same result.
        image = _convolve(_convolve(image, 0, size), 1, size)
    elif height != size:
        image = _convolve(image, 0, size)
    else:
        image = _convolve(image, 1, size)
    return divide_alpha(divide_alpha(image))

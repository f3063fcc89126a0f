"""The catalog ``convtrace check`` names a student's mistake from.

The planted bugs (``convtrace run --bug``) are its first entries; they live in
``core/layers/bugs.py``, below tracing/ and scenario/, so that ``--bug`` does not import check/.
The entries after them (``WILD``) come from reading real CS231n submissions: they have no
variant to plant, and ``check/diagnose.py`` names them from evidence (which cases fail and
which pass, and the shape and structure of what the student returned).
"""

from __future__ import annotations

from ..core.layers.bugs import (
    CATALOG as PLANTED,
)
from ..core.layers.bugs import (
    Bug,
    BuggyConv,
    BuggyConv2D,
    Variant,
    conv_backward,
    conv_forward,
    get_bug,
    variant_pads,
)
from ..i18n import N_

WILD: tuple[Bug, ...] = (
    Bug(
        "unpad-negative-slice",
        N_(
            "dx_pad[:, :, pad:-pad, pad:-pad] is empty when pad = 0 (the slice 0:-0 selects "
            "nothing), so dX is empty or cannot be broadcast."
        ),
        N_("Crop with explicit ends: dx_pad[:, :, pad:pad + H, pad:pad + W]."),
    ),
    Bug(
        "padding-zero-branch",
        N_("x_pad (or dx_pad) is defined only when pad > 0, so a case with pad = 0 fails."),
        N_("np.pad with a pad of 0 is a no-op: pad unconditionally, no if pad > 0 branch."),
    ),
    Bug(
        "padding-hardcoded",
        N_("The padding is hard-coded to 1 ([1:-1], np.pad(x, 1)) instead of conv_param['pad']."),
        N_("Read pad = conv_param['pad'] and use it everywhere: np.pad(x, pad), [pad:pad + H]."),
    ),
    Bug(
        "height-width-swapped",
        N_(
            "Height and width are mixed up (an output size from the kernel's height, an index "
            "with out_h where out_w belongs, or HH/WW swapped): right only when they are equal."
        ),
        N_(
            "Pair every height with a height: H_out = 1 + (H + 2 pad - HH) // stride, "
            "W_out = 1 + (W + 2 pad - WW) // stride; loop i over H_out and j over W_out."
        ),
    ),
    Bug(
        "dw-overwrite",
        N_(
            "dW (or db) is assigned with = where it must accumulate with +=, so only the last "
            "window's (or sample's) contribution is left."
        ),
        N_("Accumulate: dW[f] += dout[n, f, i, j] * window (and db[f] += dout[n, f, i, j])."),
    ),
    Bug(
        "dx-kernel-flipped",
        N_(
            "The forward pass is right, but dX scatters dout with the kernel rotated by 180°: "
            "the scatter form already accounts for the flip."
        ),
        N_(
            "In backward use W as it is: dx_pad[n, :, i*s:i*s+HH, j*s:j*s+WW] += "
            "dout[n, f, i, j] * W[f] (no W[:, :, ::-1, ::-1])."
        ),
    ),
    Bug(
        "not-implemented",
        N_(
            "The function is not written yet: it returns None, leaves the gradient as zeros, "
            "raises NotImplementedError or stops at assert False."
        ),
        N_("Write the missing code between the TODO markers and return what the docstring says."),
    ),
    Bug(
        "python2-code",
        N_(
            "Python 2 code: / gives float sizes in Python 3, xrange and the print statement "
            "no longer exist."
        ),
        N_("Use // for sizes and indices, range for xrange and print(...) as a function."),
    ),
    Bug(
        "numpy-removed-name",
        N_("The code uses a NumPy name that NumPy has since removed."),
        N_(
            "Replace it: np.int -> int, np.float -> float, np.bool -> bool, np.product -> "
            "np.prod, reshape(newshape=s) -> reshape(s), numpy.testing's nosetester -> pytest."
        ),
    ),
    Bug(
        "stride-must-divide",
        N_(
            "The code refuses a stride that does not divide H + 2 pad - HH (an assert). The "
            "assignment assumes it divides, so this is a note, not a mistake."
        ),
        N_("Nothing to fix; H_out = 1 + (H + 2 pad - HH) // stride would also accept it."),
    ),
    Bug(
        "maxpool-overwrite",
        N_(
            "max-pool backward writes dx with = instead of +=: right while windows do not "
            "overlap (the assignment's 2×2 stride 2 test), wrong as soon as they do."
        ),
        N_("Accumulate: dx[n, c, rows, cols] += dout[n, c, i, j] * (window == window.max())."),
    ),
    Bug(
        "affine-not-flattened",
        N_(
            "affine does not reshape x to (N, D) (or dx back to x's shape): right only when x "
            "is already two-dimensional."
        ),
        N_("x2 = x.reshape(x.shape[0], -1); out = x2 @ w + b; dx = (dout @ w.T).reshape(x.shape)."),
    ),
    Bug(
        "bn-test-eps-missing",
        N_(
            "Test mode normalises with (x - running_mean) / sqrt(running_var), leaving eps out: "
            "every train-mode check passes, because the assignment's gradient checks never run "
            "test mode."
        ),
        N_("In test mode too: x_hat = (x - running_mean) / np.sqrt(running_var + eps)."),
    ),
    Bug(
        "bn-eps-misplaced",
        N_(
            "eps is ignored, or added outside the square root (sqrt(var) + eps): with eps = 1e-5 "
            "the output changes by a few parts in a million, with a large eps by much more."
        ),
        N_("Add eps to the variance, inside the root: x_hat = (x - mu) / np.sqrt(var + eps)."),
    ),
    Bug(
        "bn-running-var-std",
        N_(
            "The running variance is updated with the batch's standard deviation instead of its "
            "variance, so test mode normalises with the wrong scale."
        ),
        N_("running_var = momentum * running_var + (1 - momentum) * var (var = x.var(axis=0))."),
    ),
    Bug(
        "bn-spatial-shared-param",
        N_(
            "spatial_batchnorm_forward loops over channels and passes the same bn_param to "
            "every call: each channel's statistics update the running mean and variance of "
            "all channels, one after the other."
        ),
        N_(
            "Reshape once instead of looping: x.transpose(0, 2, 3, 1).reshape(-1, C), one call "
            "of batchnorm_forward, then reshape back."
        ),
    ),
)

CATALOG: tuple[Bug, ...] = PLANTED + WILD
BUGS = {bug.id: bug for bug in CATALOG}
PLANTED_IDS = tuple(bug.id for bug in PLANTED)

__all__ = ["BUGS", "CATALOG", "PLANTED", "PLANTED_IDS", "WILD", "Bug", "BuggyConv",
           "BuggyConv2D", "Variant", "conv_backward", "conv_forward", "get_bug",
           "variant_pads"]  # fmt: skip

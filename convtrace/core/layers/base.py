"""The layer protocol: what every layer of the network exposes, so the network is data.

A layer kind is one module (its math, the tensors it shows, its torch twin) plus one line in
``convtrace.core.layers.KINDS``. The pipeline, the torch reference, the views and ``--net`` are
loops over layers and know no kind by name.

Every layer has:

- ``name`` (``conv``, ``pool2``: the stage prefix) and ``symbol`` (``H``, ``P2``: the letter its
  output has in the formulas); both set by the network that holds it.
- ``forward(x) -> out`` and ``backward(dout) -> dx``; parameter gradients in ``grads``
  (and, for the layers with weights, ``grad_weight``/``grad_bias``).
- ``params``: ``{"weight": W, "bias": b}`` (empty without parameters), ``param_shapes``.
- ``records(x, out)``: the forward stages it shows (its parameters, intermediates and ``out``),
  ``grad_records()``: the backward ones (``weight`` → stage ``grad.<name>.weight``), and
  ``input_grad_formula``: how its ``dx`` is made (the formula of the stage before it).
- ``output_shape(in_shape)`` and ``tensors(in_shape)``: pure arithmetic, so a whole network is
  judged before anything is allocated.
- ``twin(ctx)``: torch's module for the same layer (torch is imported there, lazily), which
  reads the same intermediates: see :class:`Twin`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...i18n import Msg

#: Axis names (see convtrace.trace.Stage.axes): n sample, c/f channel/filter, h w pixel, i j
#: output position, u v kernel offset, k a column matrix's row, l its column, o an output unit.
NCHW = ("n", "c", "h", "w")
#: marks a --net argument without a default (see Layer.SIGNATURE)
REQUIRED = object()


@dataclass
class Record:
    """One tensor a layer shows: the stage ``<layer name>.<suffix>`` (``grad.`` in front for a
    backward record), with its title, values, one-line formula and axis names."""

    suffix: str
    title: str
    values: np.ndarray
    formula: str = ""
    axes: tuple[str, ...] | None = None
    meta: dict = field(default_factory=dict)
    alternatives: dict[str, np.ndarray] = field(default_factory=dict)
    symbol: str | None = None


def image_axes(shape) -> tuple[str, ...] | None:
    """(n, c, h, w) for an image, (n, k) for a flat batch, None for anything else."""
    return {4: NCHW, 2: ("n", "k")}.get(len(shape))


@dataclass
class TwinContext:
    """What a torch twin needs: the dtype, our run's tolerance (to settle rounding ties our
    way), and whether our decisions may be followed at all (not under ``--bug``)."""

    dtype: object  # a torch dtype
    rtol: float = 1e-5
    settle: bool = True
    #: the run's parameters by stage name (``conv.weight``): torch gets these, not what our
    #: layer holds now (a planted bug may have redrawn its own)
    params: dict = field(default_factory=dict)

    def param(self, layer, part: str):
        """``layer``'s parameter ``part`` ("weight", "bias") as a torch tensor."""
        value = self.params.get(f"{layer.name}.{part}")
        return self.tensor(layer.params[part] if value is None else value)

    def tensor(self, array):
        import torch

        return torch.tensor(np.asarray(array), dtype=self.dtype)


class Twin:
    """torch's side of one layer. ``forward(x)`` returns torch's output and fills ``values``
    ({suffix: tensor}, the same suffixes as the layer's forward records); after the loss's
    ``backward()``, ``gradients()`` returns {suffix: tensor} for its backward records.
    ``notes``: [(suffix, key, count, sentence)] decisions settled our way (rounding ties)."""

    def __init__(self):
        self.values: dict = {}
        self.notes: list[tuple[str, str, int, str]] = []

    def forward(self, x):  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def gradients(self) -> dict:
        return {}


class Layer:
    """Base of every layer: the parts of the protocol with a sensible default."""

    kind = "layer"  # the --net keyword
    family = "layer"  # the default name; kinds of one family are numbered together
    letter = "y"  # the output's letter in formulas (numbered with the name: H1, H2)
    title = "Output"
    #: the --net arguments, in order: (constructor argument, default); REQUIRED has none
    SIGNATURE: tuple = ()
    #: how --net spells an argument, where it differs from the constructor's name
    SPEC_NAMES: dict = {}
    #: the suffixes of the stages it can record, forward and backward (for --only)
    SUFFIXES: tuple = ("out",)
    GRAD_SUFFIXES: tuple = ()
    #: True for kinds that read (N, C, H, W) images, refused after the features are flattened
    needs_image: bool = False
    #: the parameters the seeded generator draws (integers -1..1, in network order), and the
    #: value of one neither supplied nor drawn (missing here: ones, as the classroom biases)
    DRAWN: tuple = ("weight",)
    DEFAULTS: dict = {}

    @classmethod
    def build(cls, options: dict, in_shape):
        """The layer for ``options`` (constructor arguments) on an input of ``in_shape``."""
        return cls(**options)

    def __init__(self):
        self.name = self.family
        self.symbol = self.letter
        self.in_symbol = "x"
        self.grads: dict[str, np.ndarray] = {}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {}

    def param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {}

    def set_params(self, **arrays) -> None:
        if arrays:
            raise TypeError(f"{self.name} has no parameters")

    def output_shape(self, in_shape) -> tuple[int, ...]:
        return tuple(in_shape)

    def tensors(self, in_shape) -> list[tuple[str, tuple[int, ...]]]:
        """The big arrays a run of this layer allocates, as (what, shape), for the budget."""
        return [(f"{self.name}'s output", self.output_shape(in_shape))]

    def loop_positions(self, in_shape) -> int:
        """Positions a Python loop visits (the loop method's cost); 0 for vectorised layers."""
        return 0

    def decisions(self) -> np.ndarray | None:
        """The last forward's non-differentiable choices (a max-pool's argmax, a ReLU's on/off),
        or None: a finite-difference step that changes them crossed a kink."""
        return None

    def next_input(self, out: np.ndarray) -> np.ndarray:
        """What the next layer reads (``out`` itself, except for a planted layout bug)."""
        return out

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        return [self.out_record(out, f"{self.symbol} = {self.title}({self.in_symbol})")]

    def out_record(self, out: np.ndarray, formula: str, **extra) -> Record:
        return Record(
            "out",
            Msg("{title} {symbol}", _raw=True, title=Msg(self.title), symbol=self.symbol),
            out,
            formula,
            image_axes(np.shape(out)),
            symbol=self.symbol,
            **extra,
        )

    def grad_records(self) -> list[Record]:
        return []

    @property
    def input_grad_formula(self) -> str:
        return Msg("∂L/∂{x} from ∂L/∂{y}", x=self.in_symbol, y=self.symbol)

    @property
    def input_grad_alternatives(self) -> dict[str, np.ndarray]:
        """Other hand methods' ∂L/∂x after ``backward`` ({"loop": …} for a conv run both ways)."""
        return {}

    def twin(self, ctx: TwinContext) -> Twin:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def describe(self) -> dict:
        """The layer's options for the JSON document and the scenario file."""
        return {"kind": self.kind, "name": self.name}

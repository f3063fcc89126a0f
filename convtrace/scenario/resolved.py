"""Scenario: one run resolved: the input, the named network, every layer's parameters and the
target, all consistent (built by ``convtrace.scenario.build.build_scenario``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.geometry import PaddingSpec, pair, resolve_padding

DEFAULT_MAX_ELEMENTS = 10_000_000


@dataclass
class Scenario:
    """A resolved run: the input, the network (named layer specs), every layer's parameters
    (in ``dtype``) and the target, all consistent.

    x: (N, C, H, W); layers: the network, in order, each a LayerSpec with its name; params:
    {``<layer>.weight``/``.bias``: array} (e.g. conv.weight (F, C, kh, kw), fc.weight (out,
    in)); target: (N, out) for bce/mse, (N,) class indices for ce. net: the ``--net`` text, or
    None when the network was built from the single-layer flags (the classroom network).
    """

    x: np.ndarray
    target: np.ndarray
    layers: list
    params: dict[str, np.ndarray]
    loss: str
    method: str
    dtype: str
    seed: int
    sources: dict[str, str] = field(default_factory=dict)
    bug: str | None = None
    #: the run's element budget (--max-elements), which the --json document is held to too
    max_elements: int = DEFAULT_MAX_ELEMENTS
    net: str | None = None
    #: --bn-mode, for the network's BatchNorm layers (train: batch statistics; eval: running)
    bn_mode: str = "train"

    # The classroom network's options, read from its layers: the first conv, the first pool,
    # the last fc (what the heading, --save-scenario and `check` speak of).
    def _first(self, *kinds):
        return next((spec for spec in self.layers if spec.kind in kinds), None)

    @property
    def conv_spec(self):
        return self._first("conv")

    @property
    def fc_name(self) -> str | None:
        """The last fc's name (None for a network without one, e.g. conv → convT)."""
        names = [spec.name for spec in self.layers if spec.kind == "fc"]
        return names[-1] if names else None

    @property
    def has_bn(self) -> bool:
        return any(spec.kind == "bn" for spec in self.layers)

    @property
    def conv_weight(self) -> np.ndarray:
        return self.params[f"{self.conv_spec.name}.weight"]

    @property
    def conv_bias(self) -> np.ndarray:
        return self.params[f"{self.conv_spec.name}.bias"]

    @property
    def fc_weight(self) -> np.ndarray:
        return self.params[f"{self.fc_name}.weight"]

    @property
    def fc_bias(self) -> np.ndarray:
        return self.params[f"{self.fc_name}.bias"]

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(self.conv_weight.shape[2:])

    @property
    def filters(self) -> int:
        return self.conv_weight.shape[0]

    @property
    def stride(self) -> tuple[int, int]:
        return pair(self.conv_spec.options.get("stride", 1), "stride")

    @property
    def dilation(self) -> tuple[int, int]:
        return pair(self.conv_spec.options.get("dilation", 1), "dilation")

    @property
    def padding(self) -> PaddingSpec:
        return self.conv_spec.options.get("padding", "valid")

    @property
    def pads(self):
        return resolve_padding(self.padding, self.x.shape[2:], self.kernel, self.stride,
                               self.dilation)  # fmt: skip

    @property
    def pool(self) -> str:
        spec = self._first("maxpool", "avgpool")
        return "none" if spec is None else spec.kind.removesuffix("pool")

    @property
    def pool_size(self) -> tuple[int, int]:
        spec = self._first("maxpool", "avgpool")
        return pair(spec.options["kernel_size"], "pool size") if spec else (2, 2)

    @property
    def pool_stride(self) -> tuple[int, int]:
        spec = self._first("maxpool", "avgpool")
        stride = spec.options.get("stride") if spec else None
        return self.pool_size if stride is None else pair(stride, "pool stride")

    @property
    def activation(self) -> str:
        return "relu" if self._first("relu") else "none"

    def describe(self) -> dict:
        """JSON-ready summary: the network, the target, and where each array came from."""
        from .net import net_text

        n, c, h, w = self.x.shape
        doc = {"seed": self.seed, "input_shape": [n, c, h, w]}
        if self.net is None:  # the classroom network: its options as flags name them
            doc.update({
                "filters": self.filters,
                "kernel": list(self.kernel),
                "stride": list(self.stride),
                "padding": self.padding if isinstance(self.padding, (str, int))
                else list(self.padding),
                "pads": [list(p) for p in self.pads],
                "dilation": list(self.dilation),
                "pool": self.pool,
                "pool_size": list(self.pool_size),
                "pool_stride": list(self.pool_stride),
                "activation": self.activation,
            })  # fmt: skip
        doc.update({
            "loss": self.loss,
            "fc": list(self.fc_weight.shape) if self.fc_name else None,
            "method": self.method,
            "dtype": self.dtype,
            "sources": dict(self.sources),
            "bug": self.bug,
            **({"bn_mode": self.bn_mode} if self.has_bn else {}),
            "net": self.net if self.net is not None else net_text(self.layers),
            "layers": [{"name": s.name, "kind": s.kind, "spec": s.text(),
                        **({"implicit": True} if s.implicit else {})} for s in self.layers],
            "target": np.asarray(self.target).tolist(),
        })  # fmt: skip
        return doc

"""The layers ``convtrace bench`` times: one LayerSpec per convolution, grouped in presets.

``medium`` is the four layers of the performance goal; each preset also names one small layer
on which the (slow on purpose) loop method is timed too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.geometry import conv_output_shape, resolve_padding


@dataclass(frozen=True)
class LayerSpec:
    """One convolution to time: input (batch, channels, size, size) -> filters, square kernel."""

    batch: int
    channels: int
    size: int
    filters: int
    kernel: int
    stride: int = 1
    padding: str | int = "valid"

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return self.batch, self.channels, self.size, self.size

    @property
    def pads(self):
        k, s = (self.kernel,) * 2, (self.stride,) * 2
        return resolve_padding(self.padding, (self.size, self.size), k, s)

    @property
    def out_hw(self) -> tuple[int, int]:
        k, s = (self.kernel,) * 2, (self.stride,) * 2
        return conv_output_shape((self.size, self.size), k, s, self.pads)

    @property
    def gemm(self) -> tuple[int, int, int]:
        """(F, K, N*L): the forward is one (F, K) @ (K, N*L) matrix product."""
        h, w = self.out_hw
        return self.filters, self.channels * self.kernel**2, self.batch * h * w

    @property
    def forward_flops(self) -> int:
        f, k, p = self.gemm
        return 2 * f * k * p

    def flops(self, phase: str) -> int:
        return self.forward_flops * (1 if phase == "forward" else 3)

    @property
    def label(self) -> str:
        n, c, h, w = self.input_shape
        k, s = self.kernel, self.stride
        return f"{n}×{c}×{h}×{w} → {self.filters}, {k}×{k} s{s} {self.padding}"


@dataclass(frozen=True)
class Preset:
    layers: tuple[LayerSpec, ...]
    loop: LayerSpec  # the small layer on which the loop method is timed too


PRESETS: dict[str, Preset] = {
    "tiny": Preset(  # a smoke test: a second or two
        (LayerSpec(2, 3, 8, 4, 3, 1, "same"), LayerSpec(2, 4, 9, 6, 3, 2, "same")),
        LayerSpec(1, 2, 6, 2, 3, 1, "same"),
    ),
    "small": Preset(
        (
            LayerSpec(8, 16, 32, 32, 3, 1, "same"),
            LayerSpec(8, 3, 32, 16, 5, 2, "valid"),
            LayerSpec(16, 32, 16, 64, 3, 1, "valid"),
            LayerSpec(8, 32, 16, 64, 3, 2, "same"),
        ),
        LayerSpec(2, 3, 16, 4, 3, 1, "same"),
    ),
    "medium": Preset(  # the layers of the performance issue
        (
            LayerSpec(16, 32, 32, 64, 3, 1, "same"),
            LayerSpec(8, 3, 64, 32, 5, 2, "valid"),
            LayerSpec(32, 64, 28, 64, 3, 1, "valid"),
            LayerSpec(16, 64, 16, 128, 3, 2, "same"),
        ),
        LayerSpec(4, 8, 16, 8, 3, 1, "same"),
    ),
    "large": Preset(
        (
            LayerSpec(32, 64, 56, 64, 3, 1, "same"),
            LayerSpec(16, 3, 224, 64, 7, 2, "same"),
            LayerSpec(64, 128, 14, 256, 3, 1, "same"),
            LayerSpec(32, 128, 28, 256, 3, 2, "same"),
        ),
        LayerSpec(8, 16, 16, 16, 3, 1, "same"),
    ),
}

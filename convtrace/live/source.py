"""Which stages ``convtrace live`` can animate, and their frames built from a trace (pure numpy).

A conv layer's ``<conv>.out`` gets ``ConvFrames``, a pool's ``<pool>.out`` ``PoolFrames``, and
the gradient of a conv's input (``grad.input`` for the first layer, ``grad.pool1.out`` for a
conv reading pool1) ``Col2imFrames``, and a transposed conv's ``<convt>.out`` the same scatter
(``scatter``: every input pixel adds a weighted copy of the kernel to the output, overlaps
counted; the copies that land in the padding are cropped away). The geometry is read from the
layer, as explain does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import Col2imFrames, ConvFrames, Geometry, PoolFrames


@dataclass
class Animation:
    """kind: ``conv`` | ``pool`` | ``col2im`` | ``scatter``; frames: the sequence; layer: the
    layer's name; slice_axis: the name of the second axis of a frame's index (``f`` or ``c``)."""

    kind: str
    frames: ConvFrames | PoolFrames | Col2imFrames
    layer: str
    geometry: Geometry

    def slice_range(self, index: tuple[int, ...]) -> range:
        """The frames played from a cursor at ``index`` of the stage: one output slice (n, f)
        for conv/pool (H_out·W_out windows), every window of sample n for col2im."""
        n = int(index[0]) if index else 0
        if self.kind in ("col2im", "scatter"):
            return self.frames.sample_range(n)
        a = int(index[1]) if len(index) > 1 else 0
        return self.frames.slice_range(n, a)


def _layers(trace):
    return list(getattr(trace, "layers", []) or [])


def animation_for(trace, stage_name: str) -> Animation | None:
    """The animation of ``stage_name`` in ``trace``, or None when it has none."""
    for layer in _layers(trace):
        family = getattr(layer, "family", "")
        if family == "conv" and stage_name == f"{layer.name}.out":
            x = trace[layer.in_stage].values
            weight, bias = trace[f"{layer.name}.weight"].values, trace[f"{layer.name}.bias"].values
            geometry = Geometry.of_conv(layer)
            return Animation("conv", ConvFrames(x, weight, bias, geometry), layer.name, geometry)
        if family == "pool" and stage_name == f"{layer.name}.out":
            geometry = Geometry.of_pool(layer)
            frames = PoolFrames(trace[layer.in_stage].values, geometry, layer.op)
            return Animation("pool", frames, layer.name, geometry)
        if family == "convt" and stage_name == f"{layer.name}.out":
            geometry = Geometry(tuple(layer.kernel_size), tuple(layer.stride),
                                tuple(layer.dilation), layer.pads)  # fmt: skip
            x, weight = trace[layer.in_stage].values, trace[f"{layer.name}.weight"].values
            frames = Col2imFrames(x, weight, geometry, trace[stage_name].shape[2:])
            return Animation("scatter", frames, layer.name, geometry)
        if family == "conv" and stage_name == f"grad.{layer.in_stage}":
            dh_name = f"grad.{layer.name}.out"
            if dh_name not in trace:
                return None
            x_hw = np.shape(trace[layer.in_stage].values)[2:]
            geometry = Geometry.of_conv(layer)
            weight = trace[f"{layer.name}.weight"].values
            frames = Col2imFrames(trace[dh_name].values, weight, geometry, x_hw)
            return Animation("col2im", frames, layer.name, geometry)
    return None

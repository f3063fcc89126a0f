"""torch's side of a step or a training run: the layers' twins as one forward pass, the loss,
and torch's own parameters (leaf tensors) that ``torch.optim.SGD`` steps.

Twins build their torch modules from ``ctx.params`` on every forward (see
``convtrace.core.layers.base.Twin``), so a training loop in torch keeps its parameters as leaf
tensors here, copies them into a fresh forward each step (an exact copy, same dtype), and hands
the gradients autograd computed back to them before ``optimizer.step()``. torch is imported
inside the functions.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import TwinContext
from .local import torch_loss


def torch_dtype(dtype: str):
    import torch

    return {"float32": torch.float32, "float64": torch.float64}[dtype]


def torch_forward(layers, ctx: TwinContext, x):
    """(logits, twins) of the layers' twins on the torch tensor ``x``. Each twin may settle a
    rounding tie our way from the layer's last forward (so run ours on the same numbers first)."""
    a, twins = x, []
    for layer in layers:
        twin = layer.twin(ctx)
        a = twin.forward(a)
        if a.requires_grad:
            a.retain_grad()  # a twin's gradients() may read its output's gradient
        twins.append(twin)
    return a, twins


class TorchModel:
    """torch's copy of the network, trained by torch: ``params`` ({``conv.weight``: leaf
    tensor}) start from ``start`` and are stepped by ``torch.optim.SGD`` with the same
    settings as ours (``buffers``: its momentum buffers from earlier steps, if any)."""

    def __init__(self, layers, start: dict, dtype: str, *, lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, rtol: float = 1e-5, settle: bool = True,
                 buffers: dict | None = None):  # fmt: skip
        import torch

        self.layers, self.dtype = layers, torch_dtype(dtype)
        self.rtol, self.settle = rtol, settle
        self.params = {
            name: torch.tensor(np.asarray(value), dtype=self.dtype, requires_grad=True)
            for name, value in start.items()
        }
        self.optimizer = torch.optim.SGD(
            list(self.params.values()), lr=lr, momentum=momentum, weight_decay=weight_decay
        )
        for name, buf in (buffers or {}).items():  # momentum carried on from earlier steps
            if name in self.params:
                tensor = torch.tensor(np.asarray(buf), dtype=self.dtype)
                self.optimizer.state[self.params[name]]["momentum_buffer"] = tensor

    def context(self) -> TwinContext:
        current = {name: p.detach().numpy() for name, p in self.params.items()}
        return TwinContext(dtype=self.dtype, rtol=self.rtol, settle=self.settle, params=current)

    def loss(self, x, target, kind: str, *, layers=None):
        """torch's loss of the batch with the current parameters (a 0-d tensor, with graph)."""
        ctx = self.context()
        z, twins = torch_forward(self.layers if layers is None else layers, ctx, ctx.tensor(x))
        self._twins = twins
        return torch_loss(kind, z, target, ctx)

    def step(self, x, target, kind: str, *, layers=None) -> float:
        """One step of torch's own loop: forward, loss, backward, ``optimizer.step()``; returns
        the loss before the step."""
        loss = self.loss(x, target, kind, layers=layers)
        loss.backward()
        twins = dict(zip((layer.name for layer in (self.layers if layers is None else layers)),
                         self._twins, strict=True))  # fmt: skip
        grads = {}
        for name in self.params:
            layer_name, part = name.rsplit(".", 1)
            twin = twins[layer_name]
            # the module's own parameter (a leaf): its .grad is autograd's ∂L/∂W, without the
            # extra gradients a twin's gradients() works out for display
            value = twin.values.get(part)
            grad = getattr(value, "grad", None)
            grads[name] = grad if grad is not None else twin.gradients()[part]
        for name, p in self.params.items():
            p.grad = grads[name].detach().clone()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return float(loss.detach())

    def values(self) -> dict[str, np.ndarray]:
        """The current parameters as numpy arrays (copies)."""
        return {name: p.detach().numpy().copy() for name, p in self.params.items()}

    def buffers(self) -> dict[str, np.ndarray]:
        """torch's momentum buffers ({name: B}; empty without momentum)."""
        out = {}
        for name, p in self.params.items():
            buf = self.optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                out[name] = buf.detach().numpy().copy()
        return out

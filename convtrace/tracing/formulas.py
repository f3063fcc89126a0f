"""The losses' formulas, forward and backward (each layer writes its own, in its module)."""

from __future__ import annotations

LOSS_FORMULAS = {
    "bce": "L = mean(max(z,0) − z·y + log(1 + e^−|z|))",
    "mse": "L = mean((z − y)²)",
    "ce": "L = mean(logsumexp(z) − z[y])",
}

#: {z}: the last layer's letter (z, z3)
LOSS_GRADIENTS = {
    "bce": "∂L/∂{z} = (σ({z}) − y) / numel",
    "mse": "∂L/∂{z} = 2({z} − y) / numel",
    "ce": "∂L/∂{z} = (softmax({z}) − onehot(y)) / N",
}

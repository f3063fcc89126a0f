"""A student's Conv2D that assigns dX windows with = instead of adding them.

Expected: `convtrace check examples/students/overwrite.py` fails dX wherever windows overlap
and names `overwrite-not-accumulate`.
"""

import numpy as np


class Conv2D:
    def __init__(self, filters, kernel_size, stride=1, padding="valid"):
        self.F, self.k, self.s, self.padding = filters, kernel_size, stride, padding
        self.W = None  # (F, C, k, k), created at the first forward (C comes from X)
        self.b = np.zeros(filters)

    def _pads(self, h, w):
        """TensorFlow's "same": output ceil(size / stride), the odd pixel bottom/right."""
        if self.padding == "valid":
            return 0, 0, 0, 0
        pads = []
        for size in (h, w):
            out = -(-size // self.s)
            total = max((out - 1) * self.s + self.k - size, 0)
            pads += [total // 2, total - total // 2]
        return tuple(pads)

    def forward(self, X):
        N, C, H, W = X.shape
        if self.W is None:
            self.W = np.random.randn(self.F, C, self.k, self.k) * 0.1
        top, bottom, left, right = self.pads = self._pads(H, W)
        self.Xp = np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)))
        self.X_shape = X.shape
        Hp, Wp = self.Xp.shape[2:]
        Ho, Wo = (Hp - self.k) // self.s + 1, (Wp - self.k) // self.s + 1
        O = np.zeros((N, self.F, Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                r, c = i * self.s, j * self.s
                window = self.Xp[:, :, r : r + self.k, c : c + self.k]  # (N, C, k, k)
                O[:, :, i, j] = np.tensordot(window, self.W, axes=([1, 2, 3], [1, 2, 3]))
        return O + self.b.reshape(1, -1, 1, 1)

    def backward(self, dLdO):
        N, C, H, W = self.X_shape
        dLdF = np.zeros_like(self.W)
        dLdXp = np.zeros_like(self.Xp)
        Ho, Wo = dLdO.shape[2:]
        for i in range(Ho):
            for j in range(Wo):
                r, c = i * self.s, j * self.s
                window = self.Xp[:, :, r : r + self.k, c : c + self.k]
                g = dLdO[:, :, i, j]  # (N, F)
                dLdF += np.tensordot(g, window, axes=([0], [0]))
                dLdXp[:, :, r : r + self.k, c : c + self.k] = np.tensordot(  # BUG: = instead of +=
                    g, self.W, axes=([1], [0])
                )
        self.dLdb = dLdO.sum(axis=(0, 2, 3))
        top, _, left, _ = self.pads
        dLdX = dLdXp[:, :, top : top + H, left : left + W]
        return dLdF, dLdX

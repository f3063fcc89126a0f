"""A correct Conv2D in the course's class API, written with loops over n, f, i, j."""

import numpy as np


class Conv2D:
    def __init__(self, filters, kernel_size, stride=1, padding="valid"):
        self.filters = filters
        self.k = kernel_size
        self.stride = stride
        self.padding = padding
        self.W = None
        self.b = np.zeros(filters)

    def pad_amounts(self, size):
        if self.padding == "valid":
            return 0, 0
        out = -(-size // self.stride)
        total = max((out - 1) * self.stride + self.k - size, 0)
        return total // 2, total - total // 2

    def forward(self, X):
        N, C, H, W = X.shape
        if self.W is None:
            self.W = np.random.randn(self.filters, C, self.k, self.k) * 0.01
        self.top, bottom = self.pad_amounts(H)
        self.left, right = self.pad_amounts(W)
        self.X = X
        self.Xp = np.pad(X, ((0, 0), (0, 0), (self.top, bottom), (self.left, right)))
        Ho = (self.Xp.shape[2] - self.k) // self.stride + 1
        Wo = (self.Xp.shape[3] - self.k) // self.stride + 1
        O = np.zeros((N, self.filters, Ho, Wo))
        for n in range(N):
            for f in range(self.filters):
                for i in range(Ho):
                    for j in range(Wo):
                        r, c = i * self.stride, j * self.stride
                        patch = self.Xp[n, :, r : r + self.k, c : c + self.k]
                        O[n, f, i, j] = np.sum(patch * self.W[f]) + self.b[f]
        return O

    def backward(self, dLdO):
        N, C, H, W = self.X.shape
        dW = np.zeros_like(self.W)
        dXp = np.zeros_like(self.Xp)
        self.db = np.zeros(self.filters)
        Ho, Wo = dLdO.shape[2:]
        for n in range(N):
            for f in range(self.filters):
                for i in range(Ho):
                    for j in range(Wo):
                        r, c = i * self.stride, j * self.stride
                        patch = self.Xp[n, :, r : r + self.k, c : c + self.k]
                        dW[f] += dLdO[n, f, i, j] * patch
                        dXp[n, :, r : r + self.k, c : c + self.k] += dLdO[n, f, i, j] * self.W[f]
                        self.db[f] += dLdO[n, f, i, j]
        dX = dXp[:, :, self.top : self.top + H, self.left : self.left + W]
        return dW, dX

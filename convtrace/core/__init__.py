"""The numerics, numpy only: geometry, im2col/col2im, the layers (one module per kind), losses."""

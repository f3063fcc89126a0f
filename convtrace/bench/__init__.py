"""im2col against the loops and torch's conv2d: presets and the runner."""

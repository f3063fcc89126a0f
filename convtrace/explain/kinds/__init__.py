"""One module per layer family that explain can write out as sums; every module here is
imported by :mod:`convtrace.explain.sums`, so a new kind's sums need no other registration."""

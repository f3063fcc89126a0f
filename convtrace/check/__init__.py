"""``convtrace check``: grade a student's own convolution against torch and name the bug.

``cases`` (the battery and torch's values) → ``sandbox`` + ``worker`` (the student's code, in
a separate, limited process) → ``grade`` (compare, match against the ``catalog`` of broken
variants) → ``report`` (JSON, CSV); the Rich views are in ``convtrace.render.check``.
"""

"""``convtrace live``: a full-screen Textual app over one trace (``app.py``); the animation frames
(``frames.py``, ``source.py``) are pure numpy and import neither Textual nor Rich."""

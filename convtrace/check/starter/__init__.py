"""Helper modules CS231n's starter code ships beside ``layers.py``, offered read-only to a
submission in the sandbox (its folder goes on the child's ``sys.path``, never the submission's):
a file written against the starter code (``from cs231n.im2col import *``) then loads.

``cs231n/im2col.py`` is convtrace's own implementation, written from the functions' contract
(names, arguments, shapes and layouts) and tested against torch's unfold and fold. It imports
numpy only: it runs inside the child, which never imports convtrace.
"""

"""The part of CS231n's starter package a ``layers.py`` may import (see ``..__init__``)."""

"""Rich views of a Trace: tensors as grids (tensors.py), stages as panels (stages.py).

Kept light: import the submodules you need (``convtrace.render.stages``); nothing here imports
torch or typer.
"""

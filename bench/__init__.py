"""cockpit's benchmarks: each figure is a ratio against a baseline measured in the same run (`python -m bench`).

Kept empty of imports on purpose: `python -m bench.first_frame` (the start-up launcher) imports this package, and
whatever it imported would count against the start-up figure.
"""

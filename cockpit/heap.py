"""Garbage-collector settings for a long session with many streams (measured in bench/: streaming load).

Textual and litellm load some 400,000 objects that live as long as the process; every full collection walked
them all, about 300 ms each on a 2-core machine, and each one stalled every stream on screen. `settle_heap()`,
called once litellm is loaded, freezes them out of the collector's reach. What a session then allocates still
grows by some 25,000 tracked objects a second under 16 streams (Textual strips and their caches, mostly), and at
CPython's default of a full collection every 10 young-generation passes that was some 25 full collections in 10 s
of 180 ms each. One every 100 passes keeps the p99 event-loop lag near the bare app's; cyclic garbage that lives
long enough to reach the oldest generation waits longer to be freed, which costs a little memory, not correctness.
"""

from __future__ import annotations

import gc

FULL_COLLECTION_EVERY = 100  # young-generation (1) collections per full collection; CPython's default is 10


def pause_collection() -> None:
    """For start-up (the `cockpit` command, before Textual runs): nothing loaded then is garbage worth a collection."""
    gc.disable()


def resume_collection() -> None:
    """Once the first screen is up: what start-up loaded stays out of reach, and collection starts again. A no-op
    when collection was never paused (an app started by tests or the bench)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def settle_heap() -> None:
    """Once litellm is loaded (after the preflight): freeze what is loaded, and collect in full more rarely."""
    gc.freeze()
    young, middle, _oldest = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)

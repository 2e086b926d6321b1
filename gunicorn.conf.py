"""gunicorn's settings, read from the directory it starts in (``gunicorn 'app:create_app()'``,
``make serve``, tests/live.py and the benchmarks all start it in the repository).

The app's long-lived objects (modules, models, templates: ~100k) are moved out of the
garbage collector's reach once loaded (``gc.freeze``). Otherwise every worker's full
collection walks all of them — about 40 ms in one request, on both cores at once when
the workers of a burst reach it together: the third round of bench/storms.py spent 6–11
instead of 3–5 ms of CPU per request that way. Collect first, so no garbage is frozen.
"""
import gc


def _freeze():
    gc.collect()
    gc.freeze()


def when_ready(server):
    """The master, before it forks: with ``--preload`` the app is loaded by now."""
    _freeze()


def post_worker_init(worker):
    """Each worker, once it has loaded the app (without ``--preload`` it loads it here)."""
    _freeze()

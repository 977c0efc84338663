"""Peak resident memory of the current process, shared by the benchmarks."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """Peak RSS of this process image in MiB (``VmHWM``).

    Not ``getrusage`` first: Linux carries ``ru_maxrss`` across fork + exec, so a child
    started by a large, data-simulating parent would report the parent's peak; ``VmHWM``
    starts afresh in each process image (and at fork). ``getrusage`` is the fallback where
    ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux

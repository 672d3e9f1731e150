"""Turn HR's content files into an FAQ site and a search index."""

import os

# One BLAS thread per process, set before numpy loads. The API's parallelism
# is its worker processes: with two gunicorn workers each spinning two BLAS
# threads on two cores, the mixed load benchmark fell from 178 to 41
# suggestions/s. (Alone, one query is ~30 % faster on two threads; builds
# embed in worker processes instead.) Set OPENBLAS_NUM_THREADS to override.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

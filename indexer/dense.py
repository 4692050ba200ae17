"""The FAISS index of an index version: exact below a size, approximate above it.

Up to ``approximate_above`` vectors the index is exact (``IndexIDMap2`` over ``IndexFlatIP``):
every search compares the query with every vector. Above it, an inverted-file index
(``IndexIVFFlat``, inner product, spherical k-means): vectors are grouped in ``nlist`` lists
around trained centroids and a search scans only the ``nprobe`` lists nearest the query. Both
keep the chunk rowids as FAISS ids, support ``reconstruct(id)`` (the IVF index through a
hash-table direct map) and ``remove_ids``, so an incremental reindex edits either in place.

The audience filter stays inside the search for both kinds: ``search_parameters`` puts the
ID selector of the public rows into the FAISS search parameters (``SearchParametersIVF`` for
the approximate index), so a public search never scores an internal vector at all — even
when internal vectors are the query's nearest.

Parameters (``bench/search.py`` measures them): ``nlist = LISTS_PER_SQRT × √n`` and
``nprobe`` lists searched per query.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

APPROXIMATE_ABOVE = 50_000  # chunks; the default of the index_approximate_above setting
LISTS_PER_SQRT = 2.0  # nlist = 2 √n: 2,000 lists for 1 M vectors
MIN_LISTS = 16
TRAIN_POINTS_PER_LIST = 40  # k-means sample: 40 vectors per list (FAISS warns below 39)
TRAIN_ITERATIONS = 10
NPROBE = 32  # default lists searched; Recall@10 vs exact in bench/search.py
SEED = 1234


def nlist_for(n: int) -> int:
    return max(MIN_LISTS, round(LISTS_PER_SQRT * math.sqrt(max(n, 1))))


def is_approximate(index: Any) -> bool:
    import faiss

    return isinstance(faiss.downcast_index(index), faiss.IndexIVF)


def kind(index: Any) -> str:
    """``"ivf<nlist>"`` or ``"flat"``, as the manifest and the logs name it."""
    import faiss

    ivf = faiss.downcast_index(index)
    return f"ivf{ivf.nlist}" if isinstance(ivf, faiss.IndexIVF) else "flat"


def exact(dim: int, vectors: np.ndarray | None = None, ids: np.ndarray | None = None) -> Any:
    """An exact inner-product index with the given vectors (rowids as FAISS ids)."""
    import faiss

    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if vectors is not None and ids is not None and len(ids):
        index.add_with_ids(vectors, ids)
    return index


def approximate(vectors: np.ndarray, ids: np.ndarray) -> Any:
    """An IVF index trained on (a sample of) ``vectors`` and holding all of them."""
    import faiss

    n, dim = vectors.shape
    nlist = nlist_for(n)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True  # unit vectors: centroids on the sphere
    index.cp.niter = TRAIN_ITERATIONS
    index.cp.max_points_per_centroid = TRAIN_POINTS_PER_LIST
    index.cp.seed = SEED
    sample = min(n, nlist * TRAIN_POINTS_PER_LIST)
    rows = np.random.default_rng(SEED).choice(n, sample, replace=False) if sample < n \
        else np.arange(n)
    index.train(np.ascontiguousarray(vectors[np.sort(rows)]))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    index.add_with_ids(vectors, ids)
    index.nprobe = NPROBE
    index.referenced_objects = [quantizer]  # type: ignore[attr-defined]  # outlive the index
    return index


def contents(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every (id, vector) of an index of either kind: ``(ids, vectors)``."""
    import faiss

    ivf: Any = faiss.downcast_index(index)
    if isinstance(ivf, faiss.IndexIVF):
        invlists: Any = ivf.invlists
        parts = [faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                 for i in range(ivf.nlist) if invlists.list_size(i)]
        ids = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    else:
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    if not len(ids):
        return ids, np.zeros((0, index.d), np.float32)
    return ids, index.reconstruct_batch(ids)


def fit(index: Any, approximate_above: int) -> Any:
    """The index for the vectors ``index`` holds now: the same one when its kind still fits,
    else rebuilt — exact → approximate when it grew past ``approximate_above``, approximate →
    exact when it shrank below half of it, and an approximate index retrained when the size
    it was trained for has doubled twice (its lists would be four times as long)."""
    import faiss

    n = int(index.ntotal)
    ivf: Any = faiss.downcast_index(index)
    approx = isinstance(ivf, faiss.IndexIVF)
    if not approx and n <= approximate_above:
        return index
    if approx and n >= approximate_above // 2 and nlist_for(n) < 2 * ivf.nlist:
        return index
    ids, vectors = contents(index)
    if n > approximate_above:
        logger.info("training an approximate index (IVF, %d lists) on %d vectors",
                    nlist_for(n), n)
        return approximate(vectors, ids)
    return exact(index.d, vectors, ids)


def search_parameters(index: Any, selector: Any | None, nprobe: int = NPROBE) -> Any | None:
    """FAISS search parameters: the ID selector (None: every vector) and, for the approximate
    index, the lists to probe."""
    import faiss

    if is_approximate(index):
        if selector is None:
            return faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
    if selector is None:
        return None
    return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

"""bm25s' eager score matrix, built in one vectorised pass instead of bm25s' per-document Python loop.

bm25s indexes a list of token lists in four Python passes (vocabulary set, token -> id lists, document
frequencies with one set intersection per document, term frequencies with one ``Counter`` per document).
At 100k documents those passes are most of its index time, and the token lists themselves are most of
the memory. Here tokens become ids as they are read (one flat int32 array, no list of lists), and term and
document frequencies come from one sort of (term, document) keys.

The matrix is bm25s' own format (``scores = {data, indices, indptr, num_docs}``, a CSC matrix of documents x
terms), so bm25s' scoring and top-k run on it unchanged, and every float is computed with bm25s' own idf and
tf formulas in the same dtypes and order: scores are bit-identical to ``bm25s.BM25.index`` on the same
tokens (``tests/core/test_bm25_matrix.py`` checks all five BM25 variants).
"""
from __future__ import annotations

from array import array
from collections import defaultdict
from typing import Iterable

import numpy as np

#: (term, document) pairs scored per step: bounds the float64 temporaries of the BM25 formula.
_CHUNK = 1 << 20


def encode_corpus(token_lists: Iterable[list[str]]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Map tokens to ids while reading: ``(ids, lengths, vocab)``, ids numbered in order of first appearance.

    Example:
        >>> ids, lengths, vocab = encode_corpus([["a", "b", "a"], [], ["c", "b"]])
        >>> ids.tolist(), lengths.tolist(), vocab
        ([0, 1, 0, 2, 1], [3, 0, 2], {'a': 0, 'b': 1, 'c': 2})
    """
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__  # an unseen token gets the next id, inside dict's C lookup
    lookup = vocab.__getitem__
    ids, lengths = array("i"), array("q")
    for tokens in token_lists:
        ids.extend(map(lookup, tokens))
        lengths.append(len(tokens))
    return (np.frombuffer(ids, dtype=np.int32) if ids else np.zeros(0, np.int32),
            np.frombuffer(lengths, dtype=np.int64) if lengths else np.zeros(0, np.int64), dict(vocab))


def build_scores(model, ids: np.ndarray, lengths: np.ndarray, n_vocab: int) -> dict:
    """The ``scores`` dict bm25s' ``BM25.index`` would build for these token ids, with ``model``'s settings.

    Args:
        model: A ``bm25s.BM25`` (its ``k1``, ``b``, ``delta``, ``method``, ``idf_method`` and dtypes are used;
            its ``nonoccurrence_array`` is set, as bm25s does).
        ids: Every document's token ids, concatenated (int32).
        lengths: Tokens per document (int64), so ``lengths.sum() == len(ids)``.
        n_vocab: Number of distinct ids.
    """
    from bm25s.scoring import _build_nonoccurrence_array, _select_idf_scorer, _select_tfc_scorer

    n_docs = len(lengths)
    dtype, int_dtype = np.dtype(model.dtype), np.dtype(model.int_dtype)
    avg_doc_len = lengths.mean()  # float64, as bm25s' np.array(lengths).mean()
    # Sorting term-major keys gives CSC order directly: by term, then by document. Sorted in place, and cut
    # to one key per (term, document) pair at once, so the index never holds two copies of every token.
    keys = ids.astype(np.int64)
    keys *= n_docs
    ends = np.cumsum(lengths)
    block = max(1, _CHUNK // 64)  # documents a block: the repeated document ids stay small
    for lo in range(0, n_docs, block):
        hi = min(n_docs, lo + block)
        keys[ends[lo] - lengths[lo]:ends[hi - 1]] += np.repeat(np.arange(lo, hi, dtype=np.int64), lengths[lo:hi])
    del ends
    keys.sort()
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    del first
    keys = keys[starts]
    tf = np.diff(starts, append=len(ids))
    del starts
    term = keys // n_docs
    doc = np.remainder(keys, n_docs, out=keys)  # in place: the keys become the document ids
    df = np.bincount(term, minlength=n_vocab)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])

    # idf from bm25s' own function on Python ints, once per distinct document frequency.
    compute_idf = _select_idf_scorer(getattr(model, "idf_method", None) or model.method)
    distinct, which = np.unique(df, return_inverse=True)
    idf_of = np.array([compute_idf(int(d), N=n_docs) if d else 0.0 for d in distinct.tolist()], dtype=dtype)
    idf = idf_of[which].astype(dtype, copy=False)

    if model.method in model.methods_requiring_nonoccurrence:
        model.nonoccurrence_array = _build_nonoccurrence_array(
            doc_frequencies=dict(enumerate(df.tolist())), n_docs=n_docs, compute_idf_fn=compute_idf,
            calculate_tfc_fn=_select_tfc_scorer(model.method), l_d=avg_doc_len, l_avg=avg_doc_len,
            k1=model.k1, b=model.b, delta=model.delta, dtype=model.dtype)
    else:
        model.nonoccurrence_array = None

    # Same expression, same dtypes as bm25s per document (float32 tf against float64 length terms, the
    # float64 product stored as float32), in chunks so the float64 temporaries stay small.
    compute_tfc = _select_tfc_scorer(model.method)
    data = np.empty(len(term), dtype=dtype)
    for lo in range(0, len(term), _CHUNK):
        hi = lo + _CHUNK
        tfc = compute_tfc(tf_array=tf[lo:hi].astype(dtype), l_d=lengths[doc[lo:hi]], l_avg=avg_doc_len,
                          k1=model.k1, b=model.b, delta=model.delta)
        scores = idf[term[lo:hi]] * tfc
        if model.method in ("bm25l", "bm25+"):
            scores -= model.nonoccurrence_array[term[lo:hi]]
        data[lo:hi] = scores
    return {"data": data, "indices": doc.astype(int_dtype), "indptr": indptr, "num_docs": n_docs}


def index_tokens(model, token_lists: Iterable[list[str]]) -> None:
    """Index ``token_lists`` into the ``bm25s.BM25`` ``model``, as ``model.index(list(token_lists))`` would."""
    try:  # bm25s' formulas are private functions; a bm25s without them indexes the slow way, same result
        from bm25s.scoring import _build_nonoccurrence_array, _select_idf_scorer, _select_tfc_scorer  # noqa: F401

        model.methods_requiring_nonoccurrence  # noqa: B018
    except (ImportError, AttributeError):
        model.index(list(token_lists), show_progress=False)
        return
    ids, lengths, vocab = encode_corpus(token_lists)
    model.scores = build_scores(model, ids, lengths, len(vocab))
    if "" not in vocab:  # bm25s' empty token, so a saved index loads and behaves as one bm25s built
        vocab[""] = len(vocab)
    model.vocab_dict = vocab
    model.unique_token_ids_set = set(vocab.values())

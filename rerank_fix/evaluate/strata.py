"""Stratifiers: each assigns every query to exactly one stratum along one dimension.

An average over all queries can hide a regression on the queries that matter; strata make it visible.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from rerank_fix.core.text import english_words, query_tokens
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.core.typos import TypoJudge
from rerank_fix.errors import ConfigError, DataError
from rerank_fix.registry import Registry

def _ascii_word(term: str) -> bool:
    # Only plain ASCII words are judged (and offered as spellings): a term with digits, joiners or accents
    # (ww1, covid-19, don't) is an id or a compound, not a misspelling.
    return term.isascii() and term.isalpha() and term.islower()


class Stratifier(ABC):
    """Maps queries to stratum labels along one ``dimension`` (``length``, ``typo``, ``segment`` ...).

    A stratifier registered in :data:`STRATIFIERS` round-trips through a JSON-able config:
    :meth:`to_config` (saved in routing policies and serving bundles) and :meth:`from_config` (rebuilt at
    query time, and from a recipe's ``strata: {custom: [...]}``). Adding one is one file: subclass this,
    decorate it with ``@STRATIFIERS.register("name")``, implement :meth:`assign` and the two config methods.
    """

    dimension: str
    #: Whether the label is known for a live query (a labels file only covers queries it lists).
    at_query_time: bool = True

    def to_config(self) -> dict[str, Any]:
        """A JSON-able description with ``"type"`` (the registry name), enough to rebuild the stratifier."""
        raise ConfigError(f"cannot save a routing policy on dimension {getattr(self, 'dimension', '?')!r}: "
                          f"{type(self).__name__} has no config form; route on length, typo or a metadata field")

    @classmethod
    def from_config(cls, config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> "Stratifier":
        """Rebuild from :meth:`to_config` output (``corpus`` for stratifiers that read it)."""
        raise ConfigError(f"{cls.__name__} cannot be built from a config")

    @abstractmethod
    def assign(self, queries: Mapping[str, Query]) -> dict[str, str]:
        """``query_id -> stratum label`` for every query."""

    def label_order(self) -> list[str]:
        """Labels in their natural reading order; reports sort by it, then alphabetically."""
        return []


#: Stratifier kinds by the ``type`` of their config; built-in ones are in this module.
STRATIFIERS: "Registry[type[Stratifier]]" = Registry("stratifier", modules=("rerank_fix.evaluate.strata",))


@STRATIFIERS.register("length")
class QueryLengthStratifier(Stratifier):
    """Buckets by number of word tokens.

    Args:
        upper_bounds: Inclusive upper bounds of all but the last bucket; the default ``(4, 9)`` gives
            ``≤4``, ``5–9`` and ``≥10`` tokens.

    Example:
        >>> QueryLengthStratifier().assign({"q": Query("q", "reset my password")})
        {'q': 'len ≤4'}
    """

    dimension = "length"

    def __init__(self, upper_bounds: Sequence[int] = (4, 9)) -> None:
        bounds = list(upper_bounds)
        if not bounds or any(b < 1 for b in bounds) or bounds != sorted(set(bounds)):
            raise ConfigError(f"length buckets must be increasing positive integers, got {list(upper_bounds)}")
        self.upper_bounds = bounds

    def label(self, n_tokens: int) -> str:
        lower = 1
        for bound in self.upper_bounds:
            if n_tokens <= bound:
                return f"len ≤{bound}" if lower == 1 else f"len {lower}–{bound}"
            lower = bound + 1
        return f"len ≥{lower}"

    def assign(self, queries: Mapping[str, Query]) -> dict[str, str]:
        return {qid: self.label(len(query_tokens(q.text))) for qid, q in queries.items()}

    def label_order(self) -> list[str]:
        return [self.label(1)] + [self.label(b + 1) for b in self.upper_bounds]

    def to_config(self) -> dict[str, Any]:
        return {"type": "length", "dimension": self.dimension, "upper_bounds": list(self.upper_bounds)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> Stratifier:
        return cls(config.get("upper_bounds", (4, 9)))


@STRATIFIERS.register("typo")
class TypoStratifier(Stratifier):
    """Typo-heavy vs clean, judged against the corpus vocabulary.

    A query term is a *likely typo* when it is a plain ASCII word that the typo model
    (:class:`~rerank_fix.core.typos.TypoJudge`) calls one: absent from the corpus vocabulary and the common
    English words, yet within Damerau–Levenshtein distance ``max_edits`` of a reasonably frequent corpus
    term. A query is typo-heavy when at least ``min_share`` of its terms are likely typos (and at least one
    is).

    On the DL19 subset (43 clean queries, 10 typo versions) these defaults flag 0 clean queries and 92% of
    the altered typo queries; on the bundled demo set, 35 of its 44 labelled typo queries and 4 clean ones.

    Args:
        vocabulary: Corpus term frequencies.
        min_share: Share of likely-typo terms that makes a query typo-heavy.
        max_edits: Edit distance (1 or 2) to a corpus term.
        min_term_frequency: Corpus terms rarer than this are not trusted as the intended spelling.
        min_word_length: Shorter words are never called typos (too many near neighbours).
        general_english: Also accept common English words that the corpus happens not to contain.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> ds = load_eval_set("demo")
        >>> typo = TypoStratifier.from_corpus(ds.corpus)
        >>> typo.is_typo("pasword"), typo.is_typo("password"), typo.is_typo("v2")
        (True, False, False)
    """

    dimension = "typo"

    def __init__(self, vocabulary: Mapping[str, int], min_share: float = 0.1, max_edits: int = 2,
                 min_term_frequency: int = 3, min_word_length: int = 3, general_english: bool = True) -> None:
        if not 0 < min_share <= 1:
            raise ConfigError(f"typo min_share must be in (0, 1], got {min_share}")
        if max_edits not in (1, 2):
            raise ConfigError(f"typo max_edits must be 1 or 2, got {max_edits}")
        self.vocabulary = vocabulary
        self.min_share, self.max_edits = min_share, max_edits
        self.min_term_frequency, self.min_word_length = min_term_frequency, min_word_length
        self.known_words = english_words(100_000) if general_english else frozenset()
        self.judge = TypoJudge(vocabulary, known_words=self.known_words, min_word_length=min_word_length,
                               max_edits=max_edits, min_term_frequency=min_term_frequency,
                               dictionary_filter=_ascii_word)

    @classmethod
    def from_corpus(cls, corpus: Mapping[str, Document], **options) -> "TypoStratifier":
        counts: Counter[str] = Counter()
        for doc in corpus.values():
            counts.update(query_tokens(doc.full_text))
        return cls(counts, **options)

    def save_vocabulary(self, path: str | Path) -> None:
        """Write the vocabulary as ``term<TAB>count`` lines, most frequent first (a fix bundle's
        ``vocabulary.tsv``: a live server has no corpus to rebuild it from)."""
        ordered = sorted(self.vocabulary.items(), key=lambda kv: (-kv[1], kv[0]))
        Path(path).write_text("".join(f"{t}\t{c}\n" for t, c in ordered), encoding="utf-8")

    @classmethod
    def from_vocabulary_file(cls, path: str | Path, **options) -> "TypoStratifier":
        """The stratifier over a vocabulary written by :meth:`save_vocabulary`.

        Example:
            >>> import tempfile
            >>> folder = Path(tempfile.mkdtemp())
            >>> TypoStratifier({"password": 9}).save_vocabulary(folder / "vocabulary.tsv")
            >>> TypoStratifier.from_vocabulary_file(folder / "vocabulary.tsv").vocabulary
            {'password': 9}
        """
        path = Path(path)
        counts: dict[str, int] = {}
        try:
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    term, sep, count = line.rstrip("\n").partition("\t")
                    if not term and not sep:
                        continue
                    if not term or not sep or not count.isdigit():
                        raise ConfigError(f"{path}:{number}: expected 'term<TAB>count', got {line.strip()[:80]!r}")
                    counts[term] = int(count)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the typo stratifier's vocabulary ({type(exc).__name__})") from None
        return cls(counts, **options)

    def is_typo(self, term: str) -> bool:
        """A likely typo: a plain ASCII word the :class:`~rerank_fix.core.typos.TypoJudge` calls one."""
        term = term.lower()
        return _ascii_word(term) and self.judge.is_typo(term)

    def typo_share(self, text: str) -> float:
        tokens = query_tokens(text)
        if not tokens:
            return 0.0
        return sum(self.is_typo(t) for t in tokens) / len(tokens)

    def label_order(self) -> list[str]:
        return ["clean", "typo-heavy"]

    def to_config(self) -> dict[str, Any]:
        # The vocabulary is rebuilt from the corpus at query time rather than stored (it can be large).
        return {"type": "typo", "dimension": self.dimension, "min_share": self.min_share,
                "max_edits": self.max_edits, "min_term_frequency": self.min_term_frequency,
                "min_word_length": self.min_word_length}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> Stratifier:
        if corpus is None:
            raise ConfigError("a typo routing policy needs the corpus to rebuild its vocabulary; pass corpus=")
        options = {k: config[k] for k in ("min_share", "max_edits", "min_term_frequency", "min_word_length")
                   if k in config}
        return cls.from_corpus(corpus, **options)

    def assign(self, queries: Mapping[str, Query]) -> dict[str, str]:
        out = {}
        for qid, q in queries.items():
            share = self.typo_share(q.text)
            out[qid] = "typo-heavy" if share > 0 and share >= self.min_share else "clean"
        return out


@STRATIFIERS.register("metadata")
class MetadataStratifier(Stratifier):
    """Strata from a query metadata field (``segment``, ``class`` ...); queries without it get ``(none)``."""

    def __init__(self, field: str, dimension: str | None = None) -> None:
        self.field = field
        self.dimension = dimension or field

    def assign(self, queries: Mapping[str, Query]) -> dict[str, str]:
        return {qid: str(q.metadata.get(self.field, "(none)")) for qid, q in queries.items()}

    def to_config(self) -> dict[str, Any]:
        return {"type": "metadata", "dimension": self.dimension, "field": self.field}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> Stratifier:
        return cls(config["field"], config.get("dimension"))


@STRATIFIERS.register("labels_file")
class LabelsFileStratifier(Stratifier):
    """User-supplied labels: a TSV/CSV of ``query_id<TAB>label`` (header optional).

    Args:
        path: The labels file.
        dimension: Name of the dimension in reports (default: the file stem).
    """

    at_query_time = False

    def __init__(self, path: str | Path, dimension: str | None = None) -> None:
        self.path = Path(path)
        self.dimension = dimension or self.path.stem
        self.labels = self._read()

    def _read(self) -> dict[str, str]:
        from rerank_fix.data.jsonl import read_tsv

        delimiter = "," if self.path.suffix.lower() == ".csv" else "\t"
        labels: dict[str, str] = {}
        for line_no, fields in read_tsv(self.path, delimiter=delimiter):
            if line_no == 1 and fields[0].lower() in {"query_id", "query-id", "qid", "_id"}:
                continue
            if len(fields) < 2 or not fields[1]:
                raise DataError(f"{self.path}:{line_no}: expected 'query_id{'<TAB>' if delimiter == chr(9) else ','}label'")
            if fields[0] in labels and labels[fields[0]] != fields[1]:
                raise DataError(f"{self.path}:{line_no}: query {fields[0]!r} has two labels "
                                f"({labels[fields[0]]!r} and {fields[1]!r}); a query belongs to one stratum")
            labels[fields[0]] = fields[1]
        return labels

    def assign(self, queries: Mapping[str, Query]) -> dict[str, str]:
        return {qid: self.labels.get(qid, "(unlabelled)") for qid in queries}

    def to_config(self) -> dict[str, Any]:
        return {"type": "labels_file", "dimension": self.dimension, "path": str(self.path)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> Stratifier:
        return cls(config["path"], config.get("dimension"))


def metadata_fields(queries: Iterable[Query], max_distinct: int = 12) -> list[str]:
    """Metadata fields that look categorical: present on queries, few distinct string values."""
    values: dict[str, set] = {}
    for q in queries:
        for key, value in q.metadata.items():
            if isinstance(value, (str, bool)):
                values.setdefault(key, set()).add(value)
    return [k for k, v in values.items() if 1 < len(v) <= max_distinct and k not in {"clean_text", "text"}]


def build_stratifier(config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> Stratifier:
    """Build any registered stratifier from its config (``{"type": "length", "upper_bounds": [4, 9]}``)."""
    if not isinstance(config, Mapping) or "type" not in config:
        raise ConfigError(f"a stratifier config is a mapping with a 'type' ({', '.join(STRATIFIERS.names())}); "
                          f"got {config!r}")
    return STRATIFIERS.get(str(config["type"])).from_config(config, corpus)


def stratifier_configs(eval_set: EvalSet, length_buckets: Sequence[int] = (4, 9), typo: bool = True,
                       typo_share: float = 0.1, fields: Sequence[str] | None = None,
                       labels_file: str | Path | None = None, custom: Sequence[Mapping[str, Any]] = (),
                       hidden_fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The configs of the standard strata: length, typo vs clean, categorical metadata fields (or
    ``fields``), a labels file, then any ``custom`` registered stratifiers."""
    configs: list[dict[str, Any]] = [{"type": "length", "upper_bounds": list(length_buckets)}]
    if typo:
        configs.append({"type": "typo", "min_share": typo_share})
    chosen = metadata_fields(eval_set.queries.values()) if fields is None else list(fields)
    # A labelled "typo" field must not clash with the detector's own dimension of that name.
    configs += [{"type": "metadata", "field": f, "dimension": "typo (labelled)" if f == "typo" else f}
                for f in chosen if f not in hidden_fields]
    if labels_file:
        configs.append({"type": "labels_file", "path": str(labels_file)})
    return configs + [dict(c) for c in custom]


def build_stratifiers(eval_set: EvalSet, configs: Sequence[Mapping[str, Any]] | None = None,
                      resolve: Callable[[str], str] | None = None) -> list[Stratifier]:
    """Every stratifier of ``configs`` (default: :func:`stratifier_configs`), built through the registry.

    Args:
        eval_set: Its corpus feeds the typo vocabulary; its queries the metadata fields.
        configs: Stratifier configs, each with a registered ``type``.
        resolve: Turns a relative ``path`` of a config (a labels file) into a usable one.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> [s.dimension for s in build_stratifiers(load_eval_set("demo"), [{"type": "length"}])]
        ['length']
    """
    out = []
    for config in stratifier_configs(eval_set) if configs is None else configs:
        if resolve is not None and isinstance(config.get("path"), str):
            config = {**config, "path": resolve(config["path"])}
        out.append(build_stratifier(config, eval_set.corpus))
    return out


def default_stratifiers(eval_set: EvalSet, fields: Sequence[str] | None = None,
                        labels_file: str | Path | None = None) -> list[Stratifier]:
    """Length, typo-vs-clean, categorical metadata fields (or ``fields``) and an optional labels file."""
    return build_stratifiers(eval_set, stratifier_configs(eval_set, fields=fields, labels_file=labels_file))

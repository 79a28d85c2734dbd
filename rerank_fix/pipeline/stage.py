"""The stage registry: every kind of pipeline stage is one typed spec registered under its recipe key.

A spec is a pydantic model (what the recipe may say, validated with file:line errors) that also carries
what the rest of the system needs, so nothing dispatches on the class of a stage:

- ``role``: how the runner and the latency probe treat it: ``rewrite`` (changes the query texts),
  ``retriever`` (stage one from an index), ``fusion`` (stage one from several retrievers), ``rerank``,
  or ``route`` (see below);
- :meth:`StageSpec.label`: its name in reports;
- :meth:`StageSpec.check`: checks that need the whole recipe (files exist, models resolve, metrics parse);
- :meth:`StageSpec.tuned_metrics` and :meth:`StageSpec.needs`: the metrics it optimises and the earlier
  pipelines it is built from, so the recipe computes the first and ``--only`` keeps the second;
- for retrievers, :meth:`StageSpec.build`: the retriever the workspace indexes once and shares.

``route`` is registered here too (``RouteSpec`` in recipe.py), and validates, names its metric and the
pipelines it needs through the same methods, but it is a pipeline-level spec: it stands in a pipeline's
``route:`` key, never in its ``stages:`` list. A stage transforms one pipeline's queries or candidates;
a route chooses, per query, between whole earlier pipelines, so it can only run once they have run (the
runner evaluates routed pipelines last). Its role is therefore not one of :data:`ROLES`, the roles a
``stages:`` list may use.

Adding a stage kind is one file: a subclass decorated with ``@STAGES.register("kind")`` whose module is
listed in ``STAGES``' ``modules`` below (it is then also accepted inside ``rrf: {retrievers: [...]}`` when its
role is ``retriever``).

    >>> from rerank_fix.pipeline.stage import STAGES
    >>> STAGES.get("bm25").role, STAGES.get("rrf").role
    ('retriever', 'fusion')
    >>> sorted(kinds_with_role("retriever"))
    ['bm25', 'dense', 'run']
    >>> STAGES.get("route").role, "route" in kinds_with_role(*ROLES)
    ('route', False)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from pydantic import BaseModel, ConfigDict

from rerank_fix.registry import Registry

if TYPE_CHECKING:
    from rerank_fix.retrieve.base import Retriever

#: ``kind -> spec class``. The built-in kinds live in recipe.py; the run-file stage in run_file.py.
STAGES: "Registry[type[StageSpec]]" = Registry(
    "stage", modules=("rerank_fix.pipeline.recipe", "rerank_fix.pipeline.run_file"))

#: Roles, in the order a ``stages:`` list may use them: ``[rewrite] -> retriever | fusion -> [rerank ...]``.
ROLES = ("rewrite", "retriever", "fusion", "rerank")
FIRST_STAGE_ROLES = ("retriever", "fusion")

#: ``add(location inside the stage, message)``: how :meth:`StageSpec.check` reports a problem.
AddError = Callable[[tuple[Any, ...], str], None]


class Strict(BaseModel):
    """A config model that rejects unknown fields (a typo in a recipe is an error, never ignored)."""

    model_config = ConfigDict(extra="forbid")


class StageSpec(Strict):
    """Base of every stage spec. Subclasses declare ``stage: Literal["kind"] = "kind"`` and a ``role``."""

    role: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        return getattr(self, "stage")

    def label(self) -> str:
        """Display name in reports, e.g. ``rrf(dense,bm25)``."""
        return self.kind

    def check(self, recipe: Any, add: AddError) -> None:
        """Checks that need the recipe (paths resolve against it); report each problem through ``add``."""

    def tuned_metrics(self) -> list[str]:
        """Metrics cross-validated tuning inside this stage optimises (they must be computed)."""
        return []

    def needs(self) -> list[str]:
        """Names of earlier pipelines this spec is built from (a route's ``between``)."""
        return []

    def components(self) -> list["StageSpec"]:
        """The retrievers a first stage runs (itself for a retriever; the fused ones for a fusion)."""
        return [self] if self.role == "retriever" else []

    def build(self, embedding_cache: Any = None, show_progress: bool = True) -> "Retriever":
        """The retriever of a ``retriever`` stage (not yet indexed)."""
        raise TypeError(f"stage {self.kind!r} is not a retriever")

    def restrict_queries(self, recipe: Any) -> set[str] | None:
        """Query ids evaluation must be limited to (e.g. those a run file covers), or None for all."""
        return None


def kinds_with_role(*roles: str) -> list[str]:
    """Registered stage kinds whose role is one of ``roles``, in registration order."""
    return [name for name in STAGES.names() if STAGES.get(name).role in roles]

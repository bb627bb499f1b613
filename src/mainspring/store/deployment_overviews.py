"""The DeploymentOverviews protocol: the few deployments a page names, and counts of them.

Apart from DeploymentStore (store/deployments.py) because only the web UI's overviews need
them. Reading every deployment costs ~60 ms per 1,000 (each is checked as it is read): a page
that shows a dozen runs, or one pool, reads those it names and counts the others in the
database, so its cost does not grow with the number of deployments. `SqlStore` implements
them (store/sql/deployment_overviews.py); the UI runs in the server, on its database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from mainspring.model.deployments import Deployment

__all__ = ["DeploymentOverviews"]


class DeploymentOverviews(ABC):
    @abstractmethod
    def read_deployments_by_id(self, ids: Sequence[str]) -> dict[str, Deployment]:
        """The deployments with these ids, by id (unknown ids are left out)."""

    @abstractmethod
    def read_deployments_page(self, offset: int, limit: int) -> tuple[int, list[Deployment]]:
        """How many deployments there are, and `limit` of them from `offset` in the order of
        `read_deployments` (flow name, then name)."""

    @abstractmethod
    def read_pool_deployments(self, pool_name: str) -> list[Deployment]:
        """The deployments that name this work pool, by flow name then name."""

    @abstractmethod
    def find_deployments(self, text: str, limit: int) -> list[Deployment]:
        """At most `limit` deployments whose 'flow/name' contains `text` (case-insensitive),
        by flow name then name."""

    @abstractmethod
    def count_deployments_by_flow(self) -> dict[str, int]:
        """How many deployments each flow has (flows with none left out)."""

    @abstractmethod
    def count_deployments_by_pool(self) -> dict[str, int]:
        """How many deployments name each work pool (pools named by none left out)."""

    @abstractmethod
    def count_pool_runs(self, state_types: Sequence[str]) -> dict[str, int]:
        """Per work pool, the runs of the deployments that name it whose state type is one
        of `state_types` (pools with none left out)."""

"""Cache policies under the import path Prefect 3 users write:
`from mainspring.cache_policies import INPUTS, TASK_SOURCE`."""

from mainspring.engine.results.caching import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NONE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyFnPolicy,
    CachePolicy,
    CompoundCachePolicy,
    FlowParameters,
    Inputs,
    IsolationLevel,
    NoCache,
    RunId,
    TaskSource,
)

__all__ = [
    "DEFAULT",
    "FLOW_PARAMETERS",
    "INPUTS",
    "NONE",
    "RUN_ID",
    "TASK_SOURCE",
    "CacheKeyFnPolicy",
    "CachePolicy",
    "CompoundCachePolicy",
    "FlowParameters",
    "Inputs",
    "IsolationLevel",
    "NoCache",
    "RunId",
    "TaskSource",
]

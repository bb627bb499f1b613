"""Task helpers under the import path Prefect 3 users write:
`from mainspring.tasks import task, Task, task_input_hash`."""

from mainspring.engine.results.caching import task_input_hash
from mainspring.engine.tasks import Task, task

__all__ = ["Task", "task", "task_input_hash"]

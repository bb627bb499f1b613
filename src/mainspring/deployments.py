"""Deployments under the import path Prefect 3 users write:
`from mainspring.deployments import run_deployment`."""

from mainspring.deploy.run_deployment import run_deployment

__all__ = ["run_deployment"]

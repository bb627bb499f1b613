"""The engine: flows, tasks, the run lifecycle, futures, task runners, retries, caching, results.

A regular package (not a namespace one) so tools that walk the package, such as the layering
check (`lint-imports`), see it. Nothing is imported here: `mainspring` exports the public names.
"""

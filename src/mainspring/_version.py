"""The package version, in a module of its own so reading it imports nothing else.

The server's OpenAPI document, `GET /api/version` and `mainspring version` read it from here;
the build reads it too (`[tool.hatch.version]` in pyproject.toml), so it is written once.
"""

__version__ = "0.1.0"

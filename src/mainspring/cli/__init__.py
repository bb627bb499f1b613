"""The `mainspring` command line: a thin layer of typer commands over the store and settings."""

"""The Prefect 1 style (`with Flow("name") as f:`): graph, flow, run, state, picture."""

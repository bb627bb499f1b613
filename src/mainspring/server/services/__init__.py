"""Background services of the server: each a small loop in its own module, started and
stopped by the app's lifespan (server/app.py)."""

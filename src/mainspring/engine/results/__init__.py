"""Task results beyond memory: persistence, caching, durable resume."""

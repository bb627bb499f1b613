"""How a run stops early: cancel, timeouts, signals, heartbeats, the call guard."""

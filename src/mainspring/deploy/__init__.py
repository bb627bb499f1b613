"""Deployments running on their own: the scheduler tick, running a deployment's flow run in a
subprocess, and `serve()` / workers that claim due runs. Sits between the engine (which runs a
flow) and the server (which runs the same scheduler loop as a service)."""

"""What runs a claimed deployment run, per work pool type: a process (forked from a fork server,
or a new interpreter), a Docker container, a Kubernetes Job; `base` is the loop they share (start,
watch, cancel, end: what a worker's loop, deploy/loop.py, drives them by), each runner only what
differs; `endings` the store writes that loop makes when a run ends."""

"""What runs a claimed deployment run, per work pool type: a process (forked from a fork server,
or a new interpreter), a Docker container, a Kubernetes Job; `base` is the contract a worker's
loop (deploy/loop.py) drives them by, `endings` what all of them do when a run ends."""

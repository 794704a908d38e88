"""virtiodiag: rebuild and diagnose virtio device initialisation from logs."""

__version__ = "0.1.0"

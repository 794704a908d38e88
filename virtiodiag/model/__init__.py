"""Model: per-device state machines that turn events into handshake timelines."""

from virtiodiag.model.builder import ModelBuilder
from virtiodiag.model.device import Device, Model

__all__ = ["Device", "Model", "ModelBuilder"]

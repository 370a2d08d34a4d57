"""The built-in upstream SMSC simulator (``make run``, tests); no message reaches a handset."""

from gateway.simulator.smsc import SimulatorStats, UpstreamSimulator

__all__ = ["SimulatorStats", "UpstreamSimulator"]

"""gaitchain: measure the kinetic chain behind foot pain with IMU pods while a client walks."""

__version__ = "0.1.0"

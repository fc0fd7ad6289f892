"""plugin-builder: build Go plugins and the hosts that load them, and prove they load."""

__version__ = "0.1.0"

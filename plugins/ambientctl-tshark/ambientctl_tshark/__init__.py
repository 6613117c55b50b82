"""ambientctl-tshark: hand the application bytes found inside HBONE tunnels to Wireshark's dissectors."""

__version__ = "0.1.0"

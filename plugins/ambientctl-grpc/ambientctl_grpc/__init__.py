"""ambientctl-grpc: see what gRPC calls travel inside HBONE tunnels, and warn about gRPC services that have no
waypoint (ztunnel balances per connection, so one HTTP/2 connection's calls all land on one backend)."""

__version__ = "0.1.0"

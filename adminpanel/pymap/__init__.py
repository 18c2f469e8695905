"""Client of pymap's admin gRPC service: the only package that speaks gRPC."""

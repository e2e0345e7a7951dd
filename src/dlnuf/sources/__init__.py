"""Sources: one module per upstream API, all sans-I/O (see :mod:`dlnuf.sources.base`)."""

"""The action engine: runs a compiled flow's atoms, serially or on a thread pool."""

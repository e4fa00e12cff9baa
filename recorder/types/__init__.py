"""TaskFlow's ``taskflow.types`` import paths, kept so ported code imports unchanged."""

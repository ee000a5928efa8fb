"""Call scripts: the guided steps an agent follows on a call (model, engine, loader)."""

"""Call scripts: the guided steps an agent follows on a call.

PURE: model, engine (actions), values (a field's value checked), prompts (the {{...}}
names), view (what the console shows), catalog (the call scripts in use). Reading files:
loader (the catalog from directories), reader (YAML nodes with their lines), validation (a
file's steps, fields and branches checked); defaults/*.yaml are the shipped call scripts.
"""

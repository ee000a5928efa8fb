"""The {{...}} names a prompt may use, and filling them in.

One place for the template language: the loader refuses a file that names anything else,
so a typo never reaches a customer, and the view fills the same names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.console.call_scripts.model import CallScript, PromptContext

NOT_YET = "…"  # how a field not collected yet reads in a prompt
TEMPLATE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
AGENT_TEMPLATES = frozenset({"agent.name", "agent.position", "agent.id", "company"})
ALTERNATE_TEMPLATES = frozenset({"alternate.number", "alternate.email"})
CONTEXT_TEMPLATES = AGENT_TEMPLATES | ALTERNATE_TEMPLATES  # every name a prompt may use


def render(
    text: str, call_script: CallScript, fields: Mapping[str, str], ctx: PromptContext
) -> str:
    """Fill a prompt's {{...}} names; anything not known yet reads as "…"."""
    agent = {
        "agent.name": ctx.agent_name,
        "agent.position": ctx.agent_position,
        "agent.id": ctx.agent_id,
        "company": ctx.company,
        "alternate.number": ctx.alternate_number,
        "alternate.email": ctx.alternate_email,
    }

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in agent:
            return agent[name] or NOT_YET
        if name.startswith("fields."):
            return _shown(call_script, name.removeprefix("fields."), fields)
        return NOT_YET

    return TEMPLATE.sub(one, text)


def _shown(call_script: CallScript, name: str, fields: Mapping[str, str]) -> str:
    value = fields.get(name)
    if not value:
        return NOT_YET
    spec = call_script.field(name)
    label = spec.option_label(value) if spec is not None else None
    return label or value

"""Requests generated from the service's own /openapi.json, sent to the running service as
every role and as nobody: no answer is a server error or shows a stack trace, and every
answer is one the schema declares, with the declared media type and body.

Bounded and deterministic: a fixed number of examples per operation and role, derandomized,
no shrinking (a failure names the request to repeat). The service plays a few recorded calls
first, so ids 1, 2, ... name a real call, callback, complaint and incident and the generated
requests reach past "not found". Only loopback is contacted: the requests session ignores
proxy settings from the environment, and the PBX is the simulator.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import app
from app.auth.store import Role, add_user, find_user
from app.complaints.store import file_complaint
from app.db.engine import Database
from telephony.simulator.server import AmiServer
from tests.conftest import CAPTURES
from tests.service.harness import PASSWORD, Service, running_service

pytestmark = pytest.mark.asyncio

# Examples per operation and caller, valid by the schema or not; a deeper run by hand:
# CALLASSIST_GENERATED_EXAMPLES=100.
EXAMPLES = int(os.environ.get("CALLASSIST_GENERATED_EXAMPLES", "10"))
CALLERS = ("agent1", "qa", "it", "supervisor", "admin", None)  # None: no token
TIMEOUT = 10.0  # seconds per request: an answer that never comes is a failure too
SOURCE_ROOT = str(Path(app.__file__).resolve().parent.parent)
TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
SEED_CAPTURES = (
    "normal_inbound_caller_hangup",  # a completed call at PJSIP/1001
    "dropped_mid_call_network",  # a dropped call: a callback owed
    "abandoned_in_queue",  # an abandoned call: a callback waiting for a person
    "line_fault_unreachable",  # a line fault: an incident
)


def no_stack_trace(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No answer, error or not, shows a stack trace or where the source lives."""
    body = response.content.decode("utf-8", "replace")
    if TRACE.search(body) or SOURCE_ROOT in body:
        raise AssertionError(f"the answer shows a stack trace or a source path: {body[:500]}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    no_stack_trace,
]


def add_admin(database_url: str) -> None:
    database = Database(database_url)
    with database.session() as session:
        add_user(session, "admin", Role.ADMIN, PASSWORD)
    database.dispose()


async def seed(service: Service, pbx: AmiServer) -> None:
    """Calls, a callback, an incident and a complaint for generated ids to find."""
    await pbx.wait_logged_in()
    for name in SEED_CAPTURES:
        await pbx.play_capture(CAPTURES / f"{name}.ami")
    await service.settled()
    with service.services.database.session() as db:
        agent = find_user(db, "agent1")
        assert agent is not None
        file_complaint(
            db, call_id=None, call_pk=1, customer="+8613800138000", content="no dial tone",
            category="network", severity="high", created_by=agent.id, now=time.time(),
            due_hours=service.services.settings.complaint_due_hours,
        )
        db.commit()


def exercise(
    schema: schemathesis.BaseSchema, base_url: str, tokens: dict[str | None, str]
) -> tuple[int, list[str]]:
    """Every operation as every caller; returns how many requests went out and the failures."""
    sent: list[Case] = []
    failures: list[str] = []
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: loopback only

        def as_caller(caller: str | None) -> Callable[[Case], None]:
            headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}

            def send(case: Case) -> None:
                sent.append(case)
                response = case.call(
                    base_url=base_url, session=session, headers=headers, timeout=TIMEOUT
                )
                case.validate_response(response, checks=CHECKS, headers=headers)

            return send

        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
            for caller in CALLERS:
                try:
                    bounded(given(strategy)(as_caller(caller)))()
                except (Exception, FailureGroup) as error:  # FailureGroup: not an Exception
                    failures.append(f"{operation.label} as {caller or 'nobody'}: {error}")
    return len(sent), failures


def bounded(test: Callable[[], None]) -> Callable[[], None]:
    return settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )(test)


async def test_generated_requests_get_declared_answers_and_never_a_server_error(
    database_url: str, pbx: AmiServer
) -> None:
    add_admin(database_url)
    async with running_service(database_url, pbx) as service:
        await seed(service, pbx)
        tokens: dict[str | None, str] = {
            name: await service.login(name) for name in CALLERS if name is not None
        }
        document = (await service.client.get("/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        started = time.monotonic()
        # In a thread: the service answers on this event loop meanwhile.
        sent, failures = await asyncio.to_thread(exercise, schema, service.url, tokens)
        took = time.monotonic() - started
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
    operations = sum(len(methods) for methods in document["paths"].values())
    assert sent >= operations * len(CALLERS) * EXAMPLES // 2, (sent, took)

"""The compose stack's Asterisk starts clean: modules.conf loads only modules it names, each
one exists in Asterisk 22, has what it requires loaded, and finds the config files it reads
(issue 13, item 8: a "noload" of a module that does not exist, and a dozen warnings about
config files the stack did not ship). And the entrypoint keeps the carrier's port in its
identify match, so phones at the carrier's address are not taken for the carrier.

The facts about Asterisk below are read from its 22.10.1 source (github.com/asterisk/
asterisk, tag 22.10.1), each with the file it comes from; a module added to modules.conf
must be added to REQUIRES and READS too, from the same source.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.test_asterisk_configs import (
    COMPOSE,
    CONFIGS,
    ENTRYPOINT,
    ROOT,
    Section,
    read_config,
)

DOCKERFILE = ROOT / "docker" / "asterisk" / "Dockerfile"
MODULE_LIST = ROOT / "tests" / "fixtures" / "asterisk" / "modules-22.10.1.txt"
ASTERISK_22 = frozenset(
    line.strip()
    for line in MODULE_LIST.read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def names(text: str) -> set[str]:
    return set(text.split())


# Asterisk's core modules: main/*.c with AST_MODULE_INFO. Built in, always loaded.
BUILT_IN = names(
    "ccss cdr cel config dnsmgr dsp enum features http indications logger manager named_acl "
    "plc sounds udptl"
)

# What each loaded module requires: the .requires of its AST_MODULE_INFO (res/<name>.c,
# channels/chan_pjsip.c ...). Optional modules (res_pjsip's res_statsd, res_geolocation) are
# not needed.
REQUIRES: dict[str, set[str]] = {
    "res_sorcery_config": set(),
    "res_sorcery_memory": set(),
    "res_sorcery_astdb": set(),
    "res_pjproject": {"res_sorcery_config"},
    "res_pjsip": names(
        "dnsmgr res_pjproject res_sorcery_config res_sorcery_memory res_sorcery_astdb"
    ),
    "res_pjsip_session": {"res_pjsip"},
    "res_pjsip_pubsub": {"res_pjsip"},
    "chan_pjsip": {"res_pjsip", "res_pjsip_session", "res_pjsip_pubsub"},
    "res_pjsip_authenticator_digest": {"res_pjsip"},
    "res_pjsip_outbound_authenticator_digest": {"res_pjsip"},
    "res_pjsip_endpoint_identifier_ip": {"res_pjsip"},
    "res_pjsip_endpoint_identifier_user": {"res_pjsip"},
    "res_pjsip_registrar": {"res_pjproject", "res_pjsip"},
    "res_pjsip_sdp_rtp": {"res_pjsip", "res_pjsip_session"},
    "res_pjsip_nat": {"res_pjsip", "res_pjsip_session"},
    "res_pjsip_caller_id": {"res_pjsip", "res_pjsip_session"},
    "res_pjsip_rfc3326": {"res_pjsip", "res_pjsip_session"},
    "res_pjsip_refer": {"res_pjsip", "res_pjsip_session", "res_pjsip_pubsub"},
    "res_pjsip_logger": {"res_pjsip"},
    "res_rtp_asterisk": {"res_pjproject"},
    "codec_ulaw": set(),
    "codec_alaw": set(),
    "format_wav": set(),
    "res_musiconhold": set(),
    "res_timing_timerfd": set(),
    "bridge_simple": set(),
    "bridge_native_rtp": set(),
    "bridge_builtin_features": set(),
    "pbx_config": set(),
    "app_dial": set(),
    "app_queue": set(),
    "app_mixmonitor": set(),
    "func_strings": set(),
    "func_callerid": set(),
    "res_manager_devicestate": set(),
}

# Read when present, defaults without a word when missing (the source returns at once).
QUIET_WITHOUT = {
    "cli.conf": "main/asterisk.c: the CLI aliases",
    "cli_permissions.conf": "main/cli.c: no permissions file, no limits",
    "codecs.conf": "main/plc.c",
    "dnsmgr.conf": "main/dnsmgr.c",
    "dsp.conf": "main/dsp.c",
    "enum.conf": "main/enum.c",
    "extconfig.conf": "main/config.c: no realtime mappings",
    "http.conf": "main/http.c: the HTTP server stays off",
    "sorcery.conf": "main/sorcery.c: the modules' default mappings",
    "users.conf": "main/manager.c, pbx/pbx_config.c: deprecated, skipped when missing",
}
# The config files each loaded module reads at start ("core": the built-in modules), from
# the ast_config_load / aco_file / sorcery mappings in its source. A missing one is logged:
# aco and sorcery files as ERROR "Unable to load config file" (main/config_options.c,
# res/res_sorcery_config.c), ccss.conf and indications.conf as WARNING, queuerules.conf as
# NOTICE; except those in QUIET_WITHOUT.
READS: dict[str, set[str]] = {
    "core": names("asterisk.conf modules.conf logger.conf manager.conf")  # options, loader ...
    | names("acl.conf cdr.conf cel.conf features.conf stasis.conf udptl.conf")  # aco
    | names("ccss.conf indications.conf pjproject.conf")  # pjproject.conf: main/asterisk.c
    | set(QUIET_WITHOUT),
    "res_pjproject": {"pjproject.conf"},  # sorcery: its log_mappings
    "res_pjsip": {"pjsip.conf", "sorcery.conf"},
    "res_pjsip_pubsub": {"pjsip.conf", "sorcery.conf"},
    "res_pjsip_endpoint_identifier_ip": {"pjsip.conf"},
    "res_rtp_asterisk": {"rtp.conf"},
    "res_musiconhold": {"musiconhold.conf"},
    "pbx_config": {"extensions.conf", "users.conf"},
    "app_queue": {"queues.conf", "queuerules.conf"},
}
# The categories the core reads its settings from (the aco types of main/cdr.c, cel.c,
# features_config.c, stasis.c, udptl.c; main/ccss.c's [general]): in stasis.conf and
# udptl.conf another one is an ERROR ("Could not find config type for category"), in the
# others it is ignored or means something else (a feature group), so the minimal files keep
# to these.
CORE_CATEGORIES = {
    "acl.conf": set(),  # each category would be a named ACL: none
    "ccss.conf": {"general"},
    "cdr.conf": {"general"},
    "cel.conf": {"general"},
    "features.conf": {"general", "featuremap", "applicationmap"},
    "stasis.conf": {"threadpool", "taskpool", "declined_message_types"},
    "udptl.conf": {"general"},
}


def modules_conf() -> dict[str, list[str]]:
    (section,) = read_config(CONFIGS / "modules.conf")
    assert section.name == "modules"
    found: dict[str, list[str]] = {}
    for key, value in section.items:
        found.setdefault(key, []).append(value)
    return found


def loaded() -> list[str]:
    return [name.removesuffix(".so") for name in modules_conf().get("load", [])]


def shipped_config_files() -> set[str]:
    """What /etc/asterisk holds in the compose stack: the files compose mounts, those the
    Dockerfile writes and those the entrypoint writes."""
    volumes = yaml.safe_load(COMPOSE.read_text())["services"]["asterisk"]["volumes"]
    mounted = {
        Path(volume.split(":")[1]).name
        for volume in volumes
        if volume.split(":")[1].startswith("/etc/asterisk/")
    }
    written = set(re.findall(r"> /etc/asterisk/([\w.-]+\.conf)", DOCKERFILE.read_text()))
    secrets = set(re.findall(r'"\$conf/([\w.-]+\.conf)"', ENTRYPOINT.read_text()))
    return mounted | written | secrets


def test_only_the_modules_named_are_loaded() -> None:
    settings = modules_conf()
    assert settings["autoload"] == ["no"]
    assert set(settings) == {"autoload", "load"}, "no noload, preload or require lines"
    assert len(loaded()) == len(set(loaded()))


def test_every_module_named_exists_in_asterisk_22() -> None:
    settings = modules_conf()
    kinds = ("load", "noload", "preload", "require", "preload-require")
    named = {value.removesuffix(".so") for kind in kinds for value in settings.get(kind, [])}
    assert named <= ASTERISK_22, sorted(named - ASTERISK_22)
    # what the shipped modules.conf used to name, and the module it meant
    assert "res_pjsip_phoneprov" not in ASTERISK_22
    assert "res_pjsip_phoneprov_provider" in ASTERISK_22


def test_every_module_loaded_has_what_it_requires_loaded() -> None:
    assert set(REQUIRES) == set(loaded()), "REQUIRES must describe exactly the modules loaded"
    for module in loaded():
        missing = REQUIRES[module] - set(loaded()) - BUILT_IN
        assert not missing, f"{module} requires {sorted(missing)}, which modules.conf omits"


def test_every_module_the_app_relies_on_is_loaded() -> None:
    needed = names(
        "chan_pjsip res_pjsip_registrar res_pjsip_endpoint_identifier_ip res_pjsip_rfc3326 "
        "app_queue app_dial app_mixmonitor pbx_config func_strings func_callerid "
        "res_musiconhold res_manager_devicestate format_wav codec_ulaw"
    )
    assert needed <= set(loaded())


def test_every_config_file_read_at_start_is_shipped_or_quietly_defaulted() -> None:
    assert set(READS) - {"core"} <= set(loaded())
    shipped = shipped_config_files()
    for module in ["core", *loaded()]:
        for name in READS.get(module, set()):
            assert name in shipped or name in QUIET_WITHOUT, f"{module} reads {name}"
    assert not set(QUIET_WITHOUT) & shipped, "a shipped file is not one Asterisk goes without"


def test_the_minimal_core_configs_use_only_categories_asterisk_knows() -> None:
    for name, known in CORE_CATEGORIES.items():
        sections = {s.name for s in read_config(CONFIGS / name)}
        assert sections <= known, f"{name}: {sorted(sections - known)}"
    indications = {s.name: s for s in read_config(CONFIGS / "indications.conf")}
    country = indications["general"].value("country")
    assert country in indications and indications[country].value("ring"), "no tone zone"


def test_no_shipped_config_is_left_unmounted() -> None:
    """A file in telephony/asterisk/ that compose does not mount is one Asterisk never reads
    (pjsip_probe.conf is the operators' sample; pjsip.conf carries the same account)."""
    files = {path.name for path in CONFIGS.glob("*.conf")} - {"pjsip_probe.conf"}
    assert files <= shipped_config_files()


# ------------------------------------------------------------------ the carrier's identify
def run_entrypoint(tmp_path: Path, carrier_host: str) -> str:
    """The entrypoint as the container runs it, writing into a folder of the test's and with
    chown and asterisk stubbed: what it wrote to pjsip_secrets.conf."""
    written_to = "conf=/var/run/asterisk/callassist"
    script = ENTRYPOINT.read_text().replace(written_to, f"conf={tmp_path}", 1)
    (tmp_path / "entrypoint.sh").write_text(script)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("chown", "asterisk"):
        (stubs / name).write_text("#!/bin/sh\nexit 0\n")
        (stubs / name).chmod(0o755)
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "AMI_SECRET": "ami-secret-for-the-test-0123456789",
        "CARRIER_HOST": carrier_host,
    }
    done = subprocess.run(
        ["sh", str(tmp_path / "entrypoint.sh")],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (tmp_path / "pjsip_secrets.conf").read_text()


@pytest.mark.parametrize(
    ("carrier_host", "match"),
    [
        ("203.0.113.5:5062", "203.0.113.5:5062"),  # a port: only that port is the carrier
        ("sip.carrier.example:5060", "sip.carrier.example:5060"),
        ("203.0.113.5", "203.0.113.5"),  # no port: the whole address is
    ],
)
def test_the_carriers_identify_match_keeps_its_port(
    tmp_path: Path, carrier_host: str, match: str
) -> None:
    (tmp_path / "written.conf").write_text(run_entrypoint(tmp_path, carrier_host))
    sections: dict[str, Section] = {s.name: s for s in read_config(tmp_path / "written.conf")}
    assert sections["carrier-identify"].values("match") == [match]
    assert sections["carrier-aor"].values("contact") == [f"sip:{carrier_host}"]

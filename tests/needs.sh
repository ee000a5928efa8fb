#!/bin/sh
# What `make test` needs from the machine besides Python and make, checked before any test
# runs, so a missing tool is one clear message rather than failures or skips halfway:
#   chromium        the browser tests drive Debian's chromium (tests/e2e/conftest.py)
#   sip-tester      sipp plays the PBX for the line probe (tests/integration/test_probe.py)
#   docker-compose  validates docker-compose.yml offline (tests/integration/test_compose.py)
#   redis-server    live messages between instances: tests without CALLASSIST_TEST_REDIS_URL
#                   start their own on a free loopback port; the compose stack's Redis
#                   entrypoint runs against it (test_compose.py)
#   haproxy         the compose stack's proxy config, run in front of stand-in instances
#                   (tests/integration/test_proxy.py)
#   fonts-noto-cjk  the zh-CN screenshots are worth looking at only with a Chinese font
# Run as root on a machine with apt-get (as .ci/run runs it), it installs what is missing;
# otherwise it stops, naming the Debian packages and the command that installs them.
set -eu

chromium=${CALLASSIST_E2E_CHROMIUM:-/usr/bin/chromium}

has_cjk_font() {
    if command -v fc-list >/dev/null 2>&1; then
        fc-list 2>/dev/null | grep -q "Noto Sans CJK"
    else
        ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1
    fi
}

missing=""
plain=""  # installed without recommends
[ -x "$chromium" ] || missing="$missing chromium"
command -v sipp >/dev/null 2>&1 || missing="$missing sip-tester"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
# Debian puts it in /usr/sbin, which a user's PATH may lack.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
has_cjk_font || missing="$missing fonts-noto-cjk"
# Its recommends would bring a Docker engine that nothing here starts.
command -v docker-compose >/dev/null 2>&1 || plain="docker-compose"
[ -n "$missing$plain" ] || exit 0
missing=${missing# }
all=${missing:+$missing }$plain
all=${all% }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the Debian packages the tests need: $all"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086  # word splitting is wanted: one argument per package
    [ -z "$missing" ] || apt-get install -y -qq $missing
    [ -z "$plain" ] || apt-get install -y -qq --no-install-recommends $plain
    exit 0
fi

install=""
[ -z "$missing" ] || install="sudo apt-get install -y $missing"
[ -z "$plain" ] || install="${install:+$install && }sudo apt-get install -y --no-install-recommends $plain"
cat >&2 <<EOF
make test needs Debian packages this machine lacks: $all
(tests/needs.sh says what each one is for). Install them with

    $install

(as root, \`make test\` installs them itself, as .ci/run does). Elsewhere than Debian, install chromium,
sipp, docker-compose 1.x, Redis, HAProxy and the Noto Sans CJK fonts, and set
CALLASSIST_E2E_CHROMIUM if chromium is not /usr/bin/chromium.
EOF
exit 1

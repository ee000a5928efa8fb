#!/bin/sh
# Writes the secrets Asterisk's configs #include (they are never in git), then runs Asterisk
# in the foreground as the unprivileged asterisk user.
#   AMI_SECRET           required: the AMI user callassist's secret (manager.conf); read
#                        from the compose secret file /run/secrets/ami_secret when present
#   AGENT_1001_PASSWORD, AGENT_1002_PASSWORD, PROBE_PASSWORD
#                        SIP passwords; unset: a random one (that account cannot register)
#   CARRIER_HOST         the carrier's host[:port]; unset: the trunk has no contact. The
#                        identify match keeps the port: with one, only SIP from that port of
#                        the carrier's address is the carrier (phones at the same address
#                        are not); without one, everything from that address is.
set -eu

# /etc/asterisk/manager_secret.conf and pjsip_secrets.conf link here (the Dockerfile): the
# root filesystem is read-only, /var/run/asterisk is a tmpfs.
conf=/var/run/asterisk/callassist
umask 077
mkdir -p "$conf"
if [ -r /run/secrets/ami_secret ]; then
    AMI_SECRET="$(cat /run/secrets/ami_secret)"
fi

# Values go into Asterisk config lines (and AMI_SECRET into the app's ami:// URL): only
# URL-safe characters, so no ";" (a comment), line break (a new config line) or "@" gets in.
# python3 -c 'import secrets; print(secrets.token_urlsafe(32))' makes a good one.
safe_value() {
    case "$2" in
        "" | *[!A-Za-z0-9._~:-]*)
            echo "entrypoint: $1 may hold only letters, digits and . _ ~ : -" >&2
            exit 1
            ;;
    esac
}

random_password() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

if [ -z "${AMI_SECRET:-}" ] || [ "${#AMI_SECRET}" -lt 16 ]; then
    echo "entrypoint: AMI_SECRET must be set (16+ characters) for the AMI user callassist" >&2
    exit 1
fi
safe_value AMI_SECRET "$AMI_SECRET"
printf 'secret = %s\n' "$AMI_SECRET" > "$conf/manager_secret.conf"

{
    echo "; written by the container's entrypoint at start; not in git"
    for account in 1001:AGENT_1001_PASSWORD 1002:AGENT_1002_PASSWORD \
        callassist-probe:PROBE_PASSWORD; do
        section="${account%%:*}-auth"
        variable="${account#*:}"
        eval "password=\${$variable:-}"
        if [ -z "$password" ]; then
            echo "entrypoint: $variable is not set: ${section%-auth} cannot register" >&2
            password="$(random_password)"
        fi
        safe_value "$variable" "$password"
        printf '[%s](+)\npassword = %s\n\n' "$section" "$password"
    done
    if [ -n "${CARRIER_HOST:-}" ]; then
        safe_value CARRIER_HOST "$CARRIER_HOST"
        printf '[carrier-aor](+)\ncontact = sip:%s\n\n' "$CARRIER_HOST"
        printf '[carrier-identify](+)\nmatch = %s\n\n' "$CARRIER_HOST"
    else
        echo "entrypoint: CARRIER_HOST is not set: the carrier trunk has no contact" >&2
    fi
} > "$conf/pjsip_secrets.conf"

chown asterisk:asterisk "$conf" "$conf/manager_secret.conf" "$conf/pjsip_secrets.conf"
exec asterisk -f -U asterisk -G asterisk -vvv "$@"

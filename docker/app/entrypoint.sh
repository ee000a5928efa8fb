#!/bin/sh
# Fills the app's secrets in from compose's secret files (/run/secrets/<name>), then runs the
# command. docker-compose.yml keeps secrets out of the environment it declares (where
# `docker inspect` would show them): CALLASSIST_AMI_URL, CALLASSIST_DATABASE_URL and
# CALLASSIST_REDIS_URL carry an {ami_secret} / {postgres_password} / {redis_password}
# placeholder, and CALLASSIST_SECRET_KEY comes from its own file. Without /run/secrets
# (`docker run` with plain variables) nothing is changed.
set -eu

secrets=/run/secrets

secret() {
    value="$(cat "$secrets/$1")"
    # They go into URLs and must not change a URL's meaning: no "@", "/", ":" or "%".
    case "$value" in
        "" | *[!A-Za-z0-9._~-]*)
            echo "entrypoint: the secret $1 may hold only letters, digits and . _ ~ -" >&2
            exit 1
            ;;
    esac
    printf '%s' "$value"
}

fill() {
    # $1: the variable's value, $2: the placeholder's name
    if [ -r "$secrets/$2" ]; then
        printf '%s' "$1" | sed "s|{$2}|$(secret "$2")|g"
    else
        printf '%s' "$1"
    fi
}

if [ -r "$secrets/callassist_secret_key" ]; then
    CALLASSIST_SECRET_KEY="$(secret callassist_secret_key)"
    export CALLASSIST_SECRET_KEY
fi
if [ -n "${CALLASSIST_AMI_URL:-}" ]; then
    CALLASSIST_AMI_URL="$(fill "$CALLASSIST_AMI_URL" ami_secret)"
    export CALLASSIST_AMI_URL
fi
if [ -n "${CALLASSIST_DATABASE_URL:-}" ]; then
    CALLASSIST_DATABASE_URL="$(fill "$CALLASSIST_DATABASE_URL" postgres_password)"
    export CALLASSIST_DATABASE_URL
fi
if [ -n "${CALLASSIST_REDIS_URL:-}" ]; then
    CALLASSIST_REDIS_URL="$(fill "$CALLASSIST_REDIS_URL" redis_password)"
    export CALLASSIST_REDIS_URL
fi
for value in \
    "${CALLASSIST_AMI_URL:-}" "${CALLASSIST_DATABASE_URL:-}" "${CALLASSIST_REDIS_URL:-}"; do
    case "$value" in
        *"{ami_secret}"* | *"{postgres_password}"* | *"{redis_password}"*)
            echo "entrypoint: a secret file in $secrets is missing (sh docker/make-secrets.sh)" >&2
            exit 1
            ;;
    esac
done
exec "$@"

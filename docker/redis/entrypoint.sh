#!/bin/sh
# Runs Redis for the compose stack with the password from the compose secret redis_password.
# The password goes into Redis's configuration on its standard input (`redis-server -` reads
# the configuration from there; a here-document is a pipe, no file): it is on no command line
# (`ps`, `docker inspect`) and in no file but the secret. Redis carries live messages between
# the app instances and keeps nothing: no RDB snapshots, no append-only file.
set -eu

password="$(cat /run/secrets/redis_password)"
# It goes into the apps' redis:// URL too: URL-safe only (docker/make-secrets.sh writes hex).
case "$password" in
    "" | *[!A-Za-z0-9._~-]*)
        echo "redis entrypoint: redis_password may hold only letters, digits and . _ ~ -" >&2
        exit 1
        ;;
esac
if [ "${#password}" -lt 16 ]; then
    echo "redis entrypoint: redis_password needs 16+ characters (docker/make-secrets.sh)" >&2
    exit 1
fi

exec redis-server - <<CONF
requirepass $password
port 6379
save ""
appendonly no
dir /data
CONF

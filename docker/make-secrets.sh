#!/bin/sh
# Writes the compose stack's secrets, one file each, into docker/secrets/ (not in git):
#   ami_secret             the AMI user callassist's secret (Asterisk and the apps)
#   postgres_password      the database user callassist's password (PostgreSQL and the apps)
#   redis_password         Redis's password (Redis and the apps)
#   callassist_secret_key  signs the apps' tokens (the same on every instance)
# An existing file is kept, so running it again changes nothing but the modes below. URL-safe
# values only (hex): three go into URLs. Usage: sh docker/make-secrets.sh
#
# Modes: compose mounts each file into its containers as it is on the host (its owner and
# mode; compose's uid/gid/mode do not apply to file secrets), and the containers read them as
# their own unprivileged users (the app's 10001, postgres, redis). So the files are readable
# by all (0644) and the folder by its owner only (0700): nobody else on the host gets in.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 700 secrets
for name in ami_secret postgres_password redis_password callassist_secret_key; do
    if [ ! -s "secrets/$name" ]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "secrets/$name"
        echo "wrote docker/secrets/$name"
    fi
    chmod 644 "secrets/$name"
done

#!/bin/sh
# Writes the compose stack's secrets, one file each, into docker/secrets/ (not in git):
#   ami_secret             the AMI user callassist's secret (Asterisk and the app)
#   postgres_password      the database user callassist's password (PostgreSQL and the app)
#   callassist_secret_key  signs the app's tokens
# An existing file is kept, so running it again changes nothing. URL-safe values only: two go
# into URLs. Usage: sh docker/make-secrets.sh
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
for name in ami_secret postgres_password callassist_secret_key; do
    if [ ! -s "secrets/$name" ]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "secrets/$name"
        echo "wrote docker/secrets/$name"
    fi
done

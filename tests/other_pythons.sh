#!/bin/sh
# The AMI link must run on the running loop with no deprecation warning on Python 3.11-3.13.
# The main suite runs on the venv's Python; this runs the link's tests (warnings are errors)
# on each other supported Python found on the machine, each in a venv of its own.
set -eu
cd "$(dirname "$0")/.."
found=0
for version in 3.11 3.12 3.13; do
    for candidate in "python$version" "$HOME/.pyenv/versions/$version"*/bin/python"$version"; do
        python=$(command -v "$candidate" 2>/dev/null) || continue
        "$python" -c 'import sys' 2>/dev/null || continue  # a pyenv shim with no version behind it
        [ "$("$python" -c 'import sys; print(sys.version_info[:2] == (3, int(sys.argv[1])))' "${version#3.}")" = True ] || continue
        if [ "$("$python" -c 'import sys; print(sys.prefix)')" = "$(.venv/bin/python -c 'import sys; print(sys.base_prefix)')" ]; then
            break  # the main suite already ran on this one
        fi
        venv=".venv-$version"
        stamp="$venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
        if [ ! -f "$stamp" ]; then
            rm -rf "$venv"
            "$python" -m venv "$venv"
            "$venv/bin/python" -m pip install --quiet -e '.[test]'
            touch "$stamp"
        fi
        echo "== AMI link and wire tests on $("$venv/bin/python" --version)"
        "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/integration/test_ami_link.py tests/unit/test_wire.py
        found=$((found + 1))
        break
    done
done
echo "other Pythons tested: $found"

# Sourced by scripts/demo and .ci/run: make ./.venv with hypertuner installed
# (editable) and the extras named in $1, e.g. `source scripts/env.sh demo`.
#
# A virtual environment because Debian's own Python refuses `pip install`
# (externally managed). Installing again is skipped while pyproject.toml and the
# extras are unchanged. Debian ships venv's pip support as a package of its own
# (python3-venv): it is installed when missing, as root, or named for you to install.
set -euo pipefail

HT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HT_VENV="${HYPERTUNER_VENV:-$HT_ROOT/.venv}"
HT_PYTHON="${PYTHON:-python3}"

ht_as_root() {  # run a command as root: directly, through sudo, or not at all
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else
        echo "error: '$*' needs root; run it as root, then run this again" >&2
        return 1
    fi
}

ht_apt_install() {  # apt-get install the Debian packages named, quietly
    ht_as_root apt-get update -qq
    ht_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v "$HT_PYTHON" >/dev/null; then
    echo "error: no $HT_PYTHON here; install Python 3.10 or newer (apt-get install python3)" >&2
    exit 1
fi
if [ ! -x "$HT_VENV/bin/python" ]; then
    if ! "$HT_PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
        echo "Installing python3-venv (Debian's Python needs it to make a virtual environment)"
        ht_apt_install python3-venv
    fi
    echo "Making a virtual environment in $HT_VENV"
    "$HT_PYTHON" -m venv "$HT_VENV"
fi

ht_extras="${1:-}"
ht_stamp="$HT_VENV/.hypertuner-installed"
ht_want="$(cksum < "$HT_ROOT/pyproject.toml") [$ht_extras]"
if [ "$(cat "$ht_stamp" 2>/dev/null)" != "$ht_want" ]; then
    echo "Installing hypertuner${ht_extras:+ with [$ht_extras]} into $HT_VENV (a minute or two the first time)"
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    "$HT_VENV/bin/python" -m pip install --quiet --upgrade pip
    "$HT_VENV/bin/python" -m pip install --quiet -e "$HT_ROOT${ht_extras:+[$ht_extras]}"
    echo "$ht_want" > "$ht_stamp"
fi
export VIRTUAL_ENV="$HT_VENV"
export PATH="$HT_VENV/bin:$PATH"

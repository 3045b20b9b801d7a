# What the SDK's shell tests share: strict mode, a temporary folder removed on exit ($TMP,
# named after the test), and fail/step for their messages.
#   source lib.sh NAME
set -euo pipefail
TMP=$(mktemp -d "/tmp/regula-$1-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

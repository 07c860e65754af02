#!/usr/bin/env bash
# The tests decode our Avro files with an independent implementation: Apache Avro for Python
# (Debian's python3-avro, on the system interpreter). Install it when missing and we can; otherwise say how.
set -euo pipefail
if /usr/bin/python3 -c 'import avro' 2>/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing python3-avro (Debian) for the independent Avro decoder used by the tests…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends python3-avro >/dev/null
  exit 0
fi
echo "The tests need Apache Avro for Python on /usr/bin/python3: run 'sudo apt-get install python3-avro'." >&2
exit 1

#!/usr/bin/env bash
# lock.sh: pins requirements.txt's whole dependency tree into requirements.lock, with the sha256
# of every wheel, for the image's platform (CPython 3.11, Linux x86_64, glibc). Needs PyPI (or a
# mirror: PIP_INDEX_URL) and python3.11; run it on Linux x86_64 after editing requirements.txt.
#   ./mlflow-stack/lock.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3.11 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check --upgrade "pip>=24.2"
# The image installs wheels only (no compiler in it); --report records each wheel's hash.
"$work/venv/bin/pip" install -q --disable-pip-version-check --dry-run --ignore-installed --only-binary=:all: \
  -r "$here/requirements.txt" --report "$work/report.json"
"$work/venv/bin/python" - "$work/report.json" "$here/requirements.lock" <<'PY'
import json, sys
report, out = sys.argv[1:]
lines = []
for item in json.load(open(report))["install"]:
    meta, info = item["metadata"], item["download_info"]
    digest = info.get("archive_info", {}).get("hashes", {}).get("sha256") or info["archive_info"]["hash"].split("=", 1)[1]
    name = meta["name"].lower().replace("_", "-").replace(".", "-")
    lines.append(f"{name}=={meta['version']} \\\n    --hash=sha256:{digest}\n")
with open(out, "w") as f:
    f.write("# The MLflow server image's whole Python dependency tree (CPython 3.11, Linux x86_64), pinned\n"
            "# exactly with each wheel's sha256 by ./lock.sh from requirements.txt; the Dockerfile installs\n"
            "# it with --no-deps, and pip checks every hash.\n")
    f.writelines(sorted(lines))
print(f"{len(lines)} packages pinned in {out}")
PY

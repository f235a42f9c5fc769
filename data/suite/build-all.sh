#!/usr/bin/env bash
# Builds every set of configs/suite/suite.toml that is not shipped, into data/suite/<set>/.
set -euo pipefail
cd "$(dirname "$0")"
for set in mnist glyphs papirus desktop-icons supertux; do
  bash "$set.sh"
done

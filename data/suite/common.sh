# Helpers the suite's build scripts source: fetch a package from a registry into a temporary
# folder, check it, and write a set's images into data/suite/<set>/ (git-ignored) atomically.
set -euo pipefail

SUITE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
SET_OUT=""
trap 'rm -rf "$WORK" ${SET_OUT:+"$SET_OUT"}' EXIT

# Extracts the Debian package $1 (apt-get download, no install) into $2 and prints its version.
debian_package() {
  local name=$1 dest=$2
  mkdir -p "$WORK/debs" "$dest"
  if ! (cd "$WORK/debs" && apt-get download -q "$name" >/dev/null 2>&1); then
    echo "cannot download the Debian package $name (is apt's package list current? try: apt-get update)" >&2
    exit 1
  fi
  dpkg-deb -x "$WORK"/debs/"${name}"_*.deb "$dest"
  dpkg-deb -f "$WORK"/debs/"${name}"_*.deb Version
}

# Downloads $1 to $3 and checks its SHA-256 against $2.
fetch_checked() {
  local url=$1 sha256=$2 dest=$3
  curl -fsSL -o "$dest" "$url"
  echo "$sha256  $dest" | sha256sum -c --quiet -
}

# Makes sure the command $1 exists, installing the Debian package $2 when it does not.
need_command() {
  local command=$1 package=$2
  if ! command -v "$command" >/dev/null; then
    echo "installing $package for $command" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  fi
}

# The folder a set is built in (a hidden folder beside its place, removed on any failure), then
# moved to data/suite/$1 in one rename: a set is either complete or absent. An existing folder is
# replaced only if one of these scripts wrote it (it holds SOURCE.txt).
begin_set() {
  SET_NAME=$1
  local final="$SUITE_DIR/$SET_NAME"
  if [[ -e "$final" && ! -f "$final/SOURCE.txt" ]]; then
    echo "$final exists and was not written by this script; remove it or move it away" >&2
    exit 1
  fi
  SET_OUT="$(mktemp -d "$SUITE_DIR/.$SET_NAME.partial-XXXXXX")"
}

# Writes SOURCE.txt ($1: what the set is and where it came from) and moves the set into place.
finish_set() {
  printf '%s\n' "$1" > "$SET_OUT/SOURCE.txt"
  local final="$SUITE_DIR/$SET_NAME"
  rm -rf "$final.old"
  if [[ -e "$final" ]]; then mv "$final" "$final.old"; fi
  mv "$SET_OUT" "$final"
  SET_OUT=""
  rm -rf "$final.old"
  local count
  count=$(find "$final" -type f \( -name '*.png' -o -name '*-ubyte' \) | wc -l)
  echo "$SET_NAME: $count files in $final"
}

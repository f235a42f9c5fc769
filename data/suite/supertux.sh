#!/usr/bin/env bash
# Game sprites: SuperTux's creature animations (Debian supertux-data), one folder per creature,
# RGBA PNG frames of any shape. Creatures with fewer than 6 frames are left out; one with more
# than 40 keeps 40 spread over its sorted frame list, so that Tux does not make up half the set.
source "$(dirname "$0")/common.sh"
begin_set supertux
version=$(debian_package supertux-data "$WORK/pkg")
creatures="$WORK/pkg/usr/share/games/supertux2/images/creatures"
for dir in "$creatures"/*/; do
  name=$(basename "$dir")
  mapfile -t frames < <(find "$dir" -type f -name '*.png' | sort)
  count=${#frames[@]}
  (( count >= 6 )) || continue
  mkdir -p "$SET_OUT/$name"
  keep=$(( count < 40 ? count : 40 ))
  for (( i = 0; i < keep; i++ )); do
    frame=${frames[$(( i * count / keep ))]}
    relative=${frame#"$dir"}
    cp "$frame" "$SET_OUT/$name/${relative//\//_}"
  done
done
finish_set "SuperTux creature sprites from Debian supertux-data $version (GPL-2+ / CC-BY-SA; see the package's copyright file). Label: the creature's folder."

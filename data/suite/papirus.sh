#!/usr/bin/env bash
# Flat desktop icons: Papirus (Debian papirus-icon-theme), the 32-px SVGs rasterised to 32-px RGBA
# PNGs, one folder per context (apps, places, mimetypes, devices, emblems, status, emotes,
# actions). Symbolic links (aliases of another icon) are left out; a context with more than 300
# icons keeps 300 spread over its sorted list; contexts with fewer than 10 are left out.
source "$(dirname "$0")/common.sh"
need_command rsvg-convert librsvg2-bin
begin_set papirus
version=$(debian_package papirus-icon-theme "$WORK/pkg")
for dir in "$WORK"/pkg/usr/share/icons/Papirus/32x32/*/; do
  context=$(basename "$dir")
  [[ -L "${dir%/}" ]] && continue   # a context that is a link to another (categories -> apps)
  mapfile -t icons < <(find "$dir" -type f -name '*.svg' | sort)
  count=${#icons[@]}
  (( count >= 10 )) || continue
  mkdir -p "$SET_OUT/$context"
  keep=$(( count < 300 ? count : 300 ))
  for (( i = 0; i < keep; i++ )); do echo "${icons[$(( i * count / keep ))]}"; done |
    xargs -P "$(nproc)" -I{} sh -c 'rsvg-convert -w 32 -h 32 "$1" -o "$2/$(basename "$1" .svg).png"' _ {} "$SET_OUT/$context"
done
finish_set "Papirus icon theme, Debian papirus-icon-theme $version (GPL-3), 32-px SVGs rasterised by rsvg-convert. Label: the icon's context folder."

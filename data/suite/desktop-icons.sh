#!/usr/bin/env bash
# Shaded desktop icons of three older themes that ship 32-px PNGs: Tango (tango-icon-theme),
# GNOME 3.12 (gnome-icon-theme) and elementary Xfce (elementary-xfce-icon-theme), one folder per
# context (the three themes' names for it brought to one: `mimes` is `mimetypes`), symbolic links
# left out, contexts with fewer than 20 icons left out. Same label, three drawing styles.
source "$(dirname "$0")/common.sh"
begin_set desktop-icons
versions=""
for theme in tango-icon-theme:Tango gnome-icon-theme:gnome elementary-xfce-icon-theme:elementary-xfce; do
  package=${theme%%:*}; folder=${theme#*:}
  version=$(debian_package "$package" "$WORK/$package")
  versions="$versions $package $version,"
  while IFS= read -r icon; do
    context=$(basename "$(dirname "$icon")")
    [[ $folder == elementary-xfce ]] && context=$(basename "$(dirname "$(dirname "$icon")")")
    [[ $context == mimes ]] && context=mimetypes
    mkdir -p "$SET_OUT/$context"
    cp "$icon" "$SET_OUT/$context/$folder-$(basename "$icon")"
  done < <(find "$WORK/$package/usr/share/icons/$folder" -type f -name '*.png' \( -path '*/32x32/*' -o -path '*/32/*' \) | sort)
done
for dir in "$SET_OUT"/*/; do
  (( $(find "$dir" -type f | wc -l) >= 20 )) || rm -r "$dir"
done
finish_set "Desktop icons from Debian packages:${versions%,} (Tango: public domain; GNOME: CC-BY-SA 3.0 / LGPL-3; elementary: GPL-3). Label: the icon's context folder."

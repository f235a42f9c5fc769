"""Renders the digits and capital letters of every font file under a folder, one 32-px grey PNG
per glyph (white on black, the glyph scaled to fit 24 px and centred), into OUT/<character>/.
Fonts that lack the Latin letters (symbol and dingbat fonts, whose glyphs come out alike) are
left out. Usage: glyphs.py FONT_DIR OUT"""

import hashlib
import sys
from pathlib import Path

from PIL import Image, ImageFont, ImageDraw

CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SIDE, FIT = 32, 24


def render(font_path, character):
    font = ImageFont.truetype(str(font_path), 96)
    left, top, right, bottom = font.getbbox(character)
    if right <= left or bottom <= top:
        return None
    glyph = Image.new("L", (right - left, bottom - top))
    ImageDraw.Draw(glyph).text((-left, -top), character, font=font, fill=255)
    scale = FIT / max(glyph.size)
    size = (max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale)))
    glyph = glyph.resize(size, Image.LANCZOS)
    tile = Image.new("L", (SIDE, SIDE))
    tile.paste(glyph, ((SIDE - size[0]) // 2, (SIDE - size[1]) // 2))
    return tile


def main(font_dir, out):
    fonts = sorted(p for p in Path(font_dir).rglob("*") if p.suffix.lower() in (".ttf", ".otf") and not p.is_symlink())
    kept, seen = 0, set()
    for font_path in fonts:
        try:
            tiles = [render(font_path, c) for c in CHARACTERS]
        except OSError:
            continue
        if any(t is None for t in tiles):
            continue
        digests = [hashlib.sha1(t.tobytes()).hexdigest() for t in tiles]
        # A font without these glyphs draws the same box for each; a face that another file
        # already gave (the same font packaged twice) adds nothing.
        if len(set(digests)) < len(CHARACTERS) - 2 or digests[10] in seen:
            continue
        seen.add(digests[10])
        for character, tile in zip(CHARACTERS, tiles):
            folder = Path(out) / character
            folder.mkdir(parents=True, exist_ok=True)
            tile.save(folder / f"{font_path.stem}.png")
        kept += 1
    print(f"{kept} of {len(fonts)} font files rendered", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

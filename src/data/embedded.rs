//! The data compiled into the binary: the default Twemoji sheet and its labels, so that
//! `hebb encode` with no arguments runs from any folder.

use std::path::Path;

/// (path relative to the project root, contents)
const FILES: &[(&str, &[u8])] = &[
    ("data/emoji-twitter/sheet_32.png", include_bytes!("../../data/emoji-twitter/sheet_32.png")),
    ("data/emoji-twitter/labels.csv", include_bytes!("../../data/emoji-twitter/labels.csv")),
];

/// The embedded contents of `path`, when it names one of the embedded files.
pub(crate) fn file(path: &Path) -> Option<&'static [u8]> {
    FILES.iter().find(|(name, _)| Path::new(name) == path).map(|(_, bytes)| *bytes)
}

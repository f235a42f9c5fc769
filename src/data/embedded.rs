//! The data compiled into the binary: the default Twemoji sheet and its labels, so that
//! `hebb encode` with no arguments runs from any folder, and MNIST's first 1,000 test digits, the
//! Hopfield experiments' default, and the repair's default picture.

use std::path::Path;

/// (path relative to the project root, contents)
const FILES: &[(&str, &[u8])] = &[
    (EMBEDDED_SHEET, include_bytes!("../../data/emoji-twitter/sheet_32.png")),
    (REPAIR_PICTURE, include_bytes!("../../data/emoji-twitter/grinning.png")),
    ("data/emoji-twitter/labels.csv", include_bytes!("../../data/emoji-twitter/labels.csv")),
    (MNIST_IMAGES, include_bytes!("../../data/mnist/t10k-1000-images-idx3-ubyte.gz")),
    (MNIST_LABELS, include_bytes!("../../data/mnist/t10k-1000-labels-idx1-ubyte.gz")),
];

/// The Twemoji sprite sheet (32-px tiles with a 1-px border).
pub(crate) const EMBEDDED_SHEET: &str = "data/emoji-twitter/sheet_32.png";
/// One sprite of the sheet, the grinning face: the Hopfield repair's default picture.
pub(crate) const REPAIR_PICTURE: &str = "data/emoji-twitter/grinning.png";
/// MNIST's first 1,000 test digits, shipped in `data/mnist` and embedded.
pub(crate) const MNIST_IMAGES: &str = "data/mnist/t10k-1000-images-idx3-ubyte.gz";
/// Their labels.
pub(crate) const MNIST_LABELS: &str = "data/mnist/t10k-1000-labels-idx1-ubyte.gz";

/// The embedded contents of `path`, when it names one of the embedded files.
pub(crate) fn file(path: &Path) -> Option<&'static [u8]> {
    FILES.iter().find(|(name, _)| Path::new(name) == path).map(|(_, bytes)| *bytes)
}

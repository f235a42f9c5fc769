//! NumPy's `.npy` format for the `f32` matrices of a run folder (`features.npy`, the Hopfield
//! weights and patterns), through the npyz crate: written as a stream of values to a buffered
//! file (no byte copy of the whole matrix), read back with the shape and type checked.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::{Context, Result, bail};
use npyz::WriterBuilder;

/// Writes a `rows x cols` row-major `f32` matrix to `path` as a little-endian `.npy` file.
pub(crate) fn write_npy_f32(path: &Path, rows: usize, cols: usize, values: &[f32]) -> Result<()> {
    if values.len() != rows * cols {
        bail!("{}: {} values do not make a {rows} x {cols} matrix", path.display(), values.len());
    }
    let cannot = || format!("cannot write {}", path.display());
    let file = File::create(path).with_context(cannot)?;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[rows as u64, cols as u64])
        .writer(BufWriter::new(file))
        .begin_nd()
        .with_context(cannot)?;
    writer.extend(values.iter().copied()).with_context(cannot)?;
    writer.finish().with_context(cannot)
}

/// Reads a 2-D `f32` `.npy` file (C order): rows, columns, values.
pub fn read_npy_f32(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let mut values = Vec::new();
    let (rows, cols) = append_npy_f32(path, &mut values)?;
    Ok((rows, cols, values))
}

/// The rows and columns a 2-D `f32` `.npy` file announces, read from its header alone.
pub(crate) fn npy_shape(path: &Path) -> Result<(usize, usize)> {
    let (_, rows, cols) = open_matrix(path)?;
    Ok((rows, cols))
}

/// Appends the values of a 2-D `f32` `.npy` file (C order) to `values`: rows, columns.
///
/// The room is reserved once at the announced size, after checking that it can fit: pushing
/// into a vector without room grows it by doubling, and a doubling copies it (old and new
/// both resident for a moment). A caller that reserved room for several files beforehand
/// keeps its one allocation.
pub(crate) fn append_npy_f32(path: &Path, values: &mut Vec<f32>) -> Result<(usize, usize)> {
    let (npy, rows, cols) = open_matrix(path)?;
    let wrong = || format!("{} is not a float32 matrix of the size it announces", path.display());
    let count = rows.checked_mul(cols).with_context(wrong)?;
    crate::compute::memory::check(&format!("{} ({rows} x {cols} values)", path.display()), count as f64 * 4.0)?;
    values.reserve_exact(count);
    let before = values.len();
    for value in npy.data::<f32>().with_context(wrong)? {
        values.push(value.with_context(wrong)?);
    }
    if values.len() - before != count {
        bail!("{}", wrong());
    }
    Ok((rows, cols))
}

/// Opens a `.npy` file and checks that it holds a row-major matrix: the file, rows, columns.
fn open_matrix(path: &Path) -> Result<(npyz::NpyFile<BufReader<File>>, usize, usize)> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let npy =
        npyz::NpyFile::new(BufReader::new(file)).with_context(|| format!("{} is not a .npy file", path.display()))?;
    let [rows, cols] = npy.shape()[..] else {
        bail!("{} holds a {}-D array, expected a 2-D matrix", path.display(), npy.shape().len());
    };
    if npy.order() != npyz::Order::C {
        bail!("{} is in Fortran order, expected C (row-major) order", path.display());
    }
    let size = |v: u64| usize::try_from(v).with_context(|| format!("{} announces {v} rows or columns", path.display()));
    Ok((npy, size(rows)?, size(cols)?))
}

/// A `.npy` file of `f32` that announces `rows x cols` and holds no values.
#[cfg(test)]
pub(crate) fn write_header_only(path: &Path, rows: u64, cols: u64) {
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let padded = format!("{header:<117}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((padded.len() as u16).to_le_bytes());
    bytes.extend(padded.as_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_reads_back_and_other_arrays_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npy");
        write_npy_f32(&path, 2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(read_npy_f32(&path).unwrap(), (2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY", "NumPy's magic");
        let header = String::from_utf8_lossy(&bytes[10..bytes.len() - 24]).into_owned();
        assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 3"), "{header}");

        let vector = dir.path().join("v.npy");
        npyz::to_file_1d(&vector, vec![1.0f32, 2.0]).unwrap();
        let err = format!("{:#}", read_npy_f32(&vector).unwrap_err());
        assert!(err.contains("v.npy") && err.contains("1-D"), "{err}");
        let integers = dir.path().join("i.npy");
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[1, 2])
            .writer(BufWriter::new(File::create(&integers).unwrap()))
            .begin_nd()
            .unwrap();
        writer.extend([1i64, 2]).unwrap();
        writer.finish().unwrap();
        let err = format!("{:#}", read_npy_f32(&integers).unwrap_err());
        assert!(err.contains("i.npy") && err.contains("float32"), "{err}");
        // A header that announces more values than memory holds is refused before allocating.
        let huge_path = dir.path().join("huge.npy");
        write_header_only(&huge_path, 4_000_000_000, 4_000_000);
        let err = format!("{:#}", read_npy_f32(&huge_path).unwrap_err());
        assert!(err.contains("huge.npy") && err.contains("memory"), "{err}");
        // A file cut short is an error, not a short matrix.
        let cut = dir.path().join("cut.npy");
        write_npy_f32(&cut, 2, 3, &[1.0; 6]).unwrap();
        let bytes = std::fs::read(&cut).unwrap();
        std::fs::write(&cut, &bytes[..bytes.len() - 4]).unwrap();
        assert!(format!("{:#}", read_npy_f32(&cut).unwrap_err()).contains("cut.npy"));
        std::fs::write(&path, b"not numpy").unwrap();
        assert!(format!("{:#}", read_npy_f32(&path).unwrap_err()).contains("not a .npy file"));
        assert!(write_npy_f32(&path, 2, 2, &[1.0]).is_err());
    }
}

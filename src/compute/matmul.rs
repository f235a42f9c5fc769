//! A checked, safe wrapper over the `gemm` crate's strided f32 matrix product (the kernel burn's
//! CPU backend uses too), for the CPU kernels that work on slices outside burn's tensors: the
//! fused Hebbian update, the symmetric neighbour search and K-Means.

/// A matrix read from a slice with a stride between rows and one between columns (a transposed
/// view swaps them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix whose rows are `width` apart.
    pub(crate) fn rows(data: &'a [f32], width: usize) -> View<'a> {
        View { data, row_stride: width, col_stride: 1 }
    }

    /// The transpose of a row-major matrix whose rows are `width` apart.
    pub(crate) fn transposed(data: &'a [f32], width: usize) -> View<'a> {
        View { data, row_stride: 1, col_stride: width }
    }

    /// Panics unless every element of a `rows x cols` matrix lies inside the slice.
    fn check(&self, rows: usize, cols: usize, what: &str) {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
            assert!(
                last < self.data.len(),
                "{what}: a {rows} x {cols} view reaches past its {} values",
                self.data.len()
            );
        }
    }
}

/// `out = lhs · rhs` for `lhs` of `rows x inner` and `rhs` of `inner x cols`, into the first
/// `rows * cols` values of `out`, row-major. `parallel` spreads one product over rayon's
/// threads; callers that already run products in parallel pass false.
pub(crate) fn product(rows: usize, cols: usize, inner: usize, lhs: View, rhs: View, out: &mut [f32], parallel: bool) {
    lhs.check(rows, inner, "left factor");
    rhs.check(inner, cols, "right factor");
    assert!(out.len() >= rows * cols, "product: {} values cannot hold {rows} x {cols}", out.len());
    if rows == 0 || cols == 0 {
        return;
    }
    if inner == 0 {
        out[..rows * cols].fill(0.0);
        return;
    }
    let parallelism = if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    // SAFETY: `check` and the assert above keep every element gemm reads or writes inside the
    // three slices; `out` is borrowed mutably, so it cannot alias the inputs.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            inner,
            out.as_mut_ptr(),
            1,
            cols as isize,
            false,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_plain_and_transposed_views() {
        // a = [[1, 2, 3], [4, 5, 6]] (2 x 3)
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = [0.0; 4];
        // a · aᵀ = [[14, 32], [32, 77]]
        product(2, 2, 3, View::rows(&a, 3), View::transposed(&a, 3), &mut out, false);
        assert_eq!(out, [14.0, 32.0, 32.0, 77.0]);
        // aᵀ · a, 3 x 3, on rayon's threads
        let mut out = [0.0; 9];
        product(3, 3, 2, View::transposed(&a, 3), View::rows(&a, 3), &mut out, true);
        assert_eq!(out, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
        // Columns 1..3 of a (an offset view) times a column vector.
        let mut out = [0.0; 2];
        product(2, 1, 2, View::rows(&a[1..], 3), View::rows(&[1.0, -1.0], 1), &mut out, false);
        assert_eq!(out, [-1.0, -1.0]);
        // An empty inner dimension is a zero product, whatever `out` held.
        let mut out = [5.0; 4];
        product(2, 2, 0, View::rows(&[], 0), View::rows(&[], 2), &mut out, false);
        assert_eq!(out, [0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "reaches past")]
    fn a_view_past_its_slice_is_refused() {
        let a = [0.0; 5];
        let mut out = [0.0; 4];
        product(2, 2, 3, View::rows(&a, 3), View::transposed(&a, 3), &mut out, false);
    }
}

//! A cache hint for loops whose next reads are known but scattered: they ask for them early,
//! so that the waits overlap instead of following one another.

/// Asks the CPU to bring `address` into its caches; only a hint, on x86-64, that never faults.
pub(crate) fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and does not fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

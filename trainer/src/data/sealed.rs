//! The proof that opens a split's test images ([`super::Split::test`]).

/// Proof that a run's selection (epochs, threshold, hyper-parameters) is frozen. Only
/// `eval::selection` makes one, once validation has chosen everything, so the test indices
/// cannot reach the selection path (`trainer/tests/test_data_guard.rs` checks both).
pub struct SelectionFrozen(());

impl SelectionFrozen {
    /// For `eval::selection` only.
    #[doc(hidden)]
    pub fn attest_frozen_selection() -> SelectionFrozen {
        SelectionFrozen(())
    }
}

//! clap's parsers for the library's [`Choice`] enums: the names and help come from the enums
//! themselves, so the command line, the reports and the errors agree.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::choice::Choice;
use crate::compute::device::DeviceChoice;
use crate::config::NeighbourSearch;
use crate::hopfield::Binarise;
use crate::hopfield::dynamics::Dynamics;
use crate::hopfield::rules::Rule;

macro_rules! value_enum {
    ($($ty:ty),+) => {$(
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                <$ty as Choice>::ALL
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.name()).help(self.help()))
            }
        }
    )+};
}

value_enum!(DeviceChoice, Binarise, Dynamics, Rule, NeighbourSearch);

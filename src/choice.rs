//! Enums a user picks by name, on the command line or in a file: [`choice!`] declares one with
//! the name and one line of help for each variant, so that `--help`, errors and printed reports
//! all use the names the user types (the command line derives its parsers from [`Choice`]).

/// A closed set of options, each with the name a user types.
pub(crate) trait Choice: Copy + 'static {
    /// Every variant, in the order `--help` lists them.
    const ALL: &'static [Self];
    /// The name a user types.
    fn name(self) -> &'static str;
    /// One line of help.
    fn help(self) -> &'static str;
}

/// Declares an enum whose variants each carry one doc line (its help) and the name a user types
/// (`Variant = "name"`), and any other attributes after the doc line (`#[default]`), with
/// [`Choice`] and a `Display` that prints the name.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $( #[doc = $help:literal] $(#[$attribute:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        $vis enum $ty { $( #[doc = $help] $(#[$attribute])* $variant, )+ }

        impl $crate::choice::Choice for $ty {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)+ }
            }
            fn help(self) -> &'static str {
                match self { $(Self::$variant => $help.trim_start().trim_end_matches('.'),)+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }
    };
}
pub(crate) use choice;

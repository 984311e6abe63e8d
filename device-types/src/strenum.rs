//! The `string_enum!` macro: closed enums spelled as fixed snake_case strings (serde, Display, FromStr).

/// Declares a fieldless enum whose variants each have one fixed string spelling.
///
/// Generates the enum (deriving `Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize`,
/// serde using exactly the given spellings), `ALL`, `as_str`, `Display` and a `FromStr` whose
/// error is a [`crate::ValidationError`] naming `$field` and listing the valid spellings.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $s)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical (JSON) spelling.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            /// The valid spellings joined with `", "`, for error messages.
            pub fn valid_names() -> String {
                [$($s),+].join(", ")
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl core::str::FromStr for $name {
            type Err = crate::ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        crate::ValidationError::new(
                            $field,
                            format!("{s:?}"),
                            format!("must be one of: {}", $name::valid_names()),
                        )
                    })
            }
        }
    };
}

//! The hardening tier: the one vocabulary that image definitions (`[tiers.<name>]`), recipes
//! (`[tiers.<name>]`), locks, the checksec policies, build records and the command line share.
//! It depends on no other module of the crate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A hardening tier. Written lowercase (`hardened`, `locked`) everywhere it is serialized;
/// ordered as [`Tier::ALL`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Drop-in replacement for upstream. Built from source: stack protector, stack clash, CET,
    /// PIE, FORTIFY, full RELRO, SafeStack. Its checksec policy: full RELRO, canary, NX, PIE or
    /// DSO, no RPATH/RUNPATH outside the image, FORTIFY where fortifiable functions exist.
    Hardened,
    /// Built from source: `hardened` plus LTO, hidden visibility and clang CFI. Its checksec
    /// policy: `hardened` plus SafeStack and clang CFI on executables.
    Locked,
}

impl Tier {
    /// Every tier, in order.
    pub const ALL: [Tier; 2] = [Tier::Hardened, Tier::Locked];

    /// The names of [`Tier::ALL`] as errors list them.
    pub const EXPECTED: &'static str = "hardened or locked";

    /// The tier's name as written in definitions, recipes, locks and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hardened => "hardened",
            Self::Locked => "locked",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a tier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier {name:?} (expected {})", Tier::EXPECTED)]
pub struct UnknownTier {
    /// The name given.
    pub name: String,
}

impl FromStr for Tier {
    type Err = UnknownTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownTier { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(serde_json::to_value(t).expect("json"), serde_json::Value::from(t.as_str()));
        }
        assert!(Tier::ALL.windows(2).all(|w| w[0] < w[1]), "ALL is in order");
        assert_eq!(
            "gold".parse::<Tier>().expect_err("not a tier").to_string(),
            "unknown tier \"gold\" (expected hardened or locked)"
        );
        assert!("Hardened".parse::<Tier>().is_err(), "names are lowercase");
        assert_eq!(Tier::EXPECTED, Tier::ALL.map(Tier::as_str).join(" or "));
    }
}

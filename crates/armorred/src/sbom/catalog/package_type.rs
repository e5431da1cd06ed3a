//! The package types, as syft names them: the one place where a type's name, its purl type and
//! its language are spelled.

use std::fmt;

/// A package's ecosystem type, as syft names it (`Package::kind` holds [`PackageType::as_str`];
/// an SBOM read back may carry types syft has and we do not, so the field stays a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageType {
    /// A Debian package (`deb`).
    Deb,
    /// An Alpine package (`apk`).
    Apk,
    /// An RPM package (`rpm`).
    Rpm,
    /// An installed Python distribution (`python`).
    Python,
    /// An installed npm package (`npm`).
    Npm,
    /// A Java archive (`java-archive`).
    JavaArchive,
    /// A Go module of a Go binary (`go-module`).
    GoModule,
    /// A crate of a cargo-auditable binary (`rust-crate`).
    RustCrate,
    /// A Ruby gem (`gem`).
    Gem,
    /// A .NET package (`dotnet`).
    Dotnet,
    /// A PHP Composer package (`php-composer`).
    PhpComposer,
    /// A binary found by its content (`binary`).
    Binary,
}

impl PackageType {
    /// Every type, in a fixed order.
    pub const ALL: [PackageType; 12] = [
        Self::Deb,
        Self::Apk,
        Self::Rpm,
        Self::Python,
        Self::GoModule,
        Self::RustCrate,
        Self::Npm,
        Self::JavaArchive,
        Self::Gem,
        Self::Dotnet,
        Self::PhpComposer,
        Self::Binary,
    ];

    /// syft's name (`deb`, `go-module`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Python => "python",
            Self::Npm => "npm",
            Self::JavaArchive => "java-archive",
            Self::GoModule => "go-module",
            Self::RustCrate => "rust-crate",
            Self::Gem => "gem",
            Self::Dotnet => "dotnet",
            Self::PhpComposer => "php-composer",
            Self::Binary => "binary",
        }
    }

    /// The type of syft's name; `None` for a name this list does not have.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The purl type its packages get (`pkg:<type>/...`).
    pub const fn purl_type(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Python => "pypi",
            Self::Npm => "npm",
            Self::JavaArchive => "maven",
            Self::GoModule => "golang",
            Self::RustCrate => "cargo",
            Self::Gem => "gem",
            Self::Dotnet => "nuget",
            Self::PhpComposer => "composer",
            Self::Binary => "generic",
        }
    }

    /// The type of a purl type (`pypi` → `python`); `None` for `generic` and unknown types.
    pub fn from_purl_type(purl_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t != Self::Binary && t.purl_type() == purl_type)
    }

    /// syft's language of the type (`python`, `go`, `java`, ...); empty for OS packages and
    /// binaries.
    pub const fn language(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Npm => "javascript",
            Self::JavaArchive => "java",
            Self::GoModule => "go",
            Self::RustCrate => "rust",
            Self::Gem => "ruby",
            Self::Dotnet => "dotnet",
            Self::PhpComposer => "php",
            Self::Deb | Self::Apk | Self::Rpm | Self::Binary => "",
        }
    }

    /// Whether it is a language ecosystem's type (it has a [`PackageType::language`]).
    pub const fn is_language(self) -> bool {
        !self.language().is_empty()
    }
}

impl AsRef<str> for PackageType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PackageType;

    #[test]
    fn names_round_trip() {
        for t in PackageType::ALL {
            assert_eq!(PackageType::parse(t.as_str()), Some(t));
            if t != PackageType::Binary {
                assert_eq!(PackageType::from_purl_type(t.purl_type()), Some(t));
            }
        }
        assert_eq!(PackageType::parse("lua-rocks"), None);
        assert_eq!(PackageType::from_purl_type("generic"), None);
    }
}

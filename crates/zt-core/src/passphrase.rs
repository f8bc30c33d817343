//! Passphrases: Unicode normalization, length, and the refusal of obviously weak ones
//! (spec §3.1).

use std::collections::BTreeSet;
use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::error::{PassphraseError, WeakPassphrase};
use crate::secret::redacted;

/// The most frequent passwords of zxcvbn's list (see `data/COMMON-PASSWORDS-LICENSE`),
/// lower-case, one per line, sorted.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Runs that people type instead of choosing (spec §3.1). Each is doubled so that a run
/// that wraps around (`7890123…`) is still a substring.
const SEQUENCES: &[&str] = &[
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "01234567890123456789",
    "qwertyuiopqwertyuiop",
    "asdfghjklasdfghjkl",
    "zxcvbnmzxcvbnm",
    "qwertzuiopqwertzuiop",
    "azertyuiopazertyuiop",
];

/// A passphrase in Unicode NFKC form (spec §3.1). Zeroized on drop; printed redacted.
///
/// Normalization makes the same passphrase typed on two systems (composed or decomposed
/// accents, full-width digits) derive the same key.
pub struct Passphrase(Zeroizing<String>);

// Wiped on drop: its only field is `Zeroizing<String>`.
impl zeroize::ZeroizeOnDrop for Passphrase {}

impl Passphrase {
    /// The fewest characters a passphrase may have, counted after normalization.
    pub const MIN_CHARS: usize = 8;
    /// The most characters a passphrase may have.
    pub const MAX_CHARS: usize = 1024;

    /// Normalizes `raw` and checks its length and characters. Use this to unlock an
    /// existing key; use [`NewPassphrase::new`] to choose a new one.
    pub fn new(raw: &str) -> Result<Passphrase, PassphraseError> {
        // Bound the work before normalizing: a character is at most 4 bytes of UTF-8.
        let raw_chars = raw.chars().count();
        if raw_chars > Self::MAX_CHARS {
            return Err(PassphraseError::TooLong {
                chars: raw_chars,
                max: Self::MAX_CHARS,
            });
        }
        // Size the buffer exactly so that no reallocation leaves a copy behind.
        let normalized_len: usize = raw.nfkc().map(char::len_utf8).sum();
        let mut normalized = Zeroizing::new(String::with_capacity(normalized_len));
        normalized.extend(raw.nfkc());
        let chars = normalized.chars().count();
        if normalized.chars().any(char::is_control) {
            return Err(PassphraseError::ControlCharacter);
        }
        if chars < Self::MIN_CHARS {
            return Err(PassphraseError::TooShort {
                chars,
                min: Self::MIN_CHARS,
            });
        }
        if chars > Self::MAX_CHARS {
            return Err(PassphraseError::TooLong {
                chars,
                max: Self::MAX_CHARS,
            });
        }
        Ok(Passphrase(normalized))
    }

    /// The normalized passphrase as UTF-8: the Argon2id password input (spec §3.2).
    pub fn expose_secret(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "Passphrase", self.0.len())
    }
}

impl fmt::Display for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "Passphrase", self.0.len())
    }
}

/// A passphrase chosen for a new key: normalized and not obviously weak (spec §3.1).
/// Only [`NewPassphrase::new`] makes one, so holding one proves the check passed.
pub struct NewPassphrase(Passphrase);

// Wiped on drop: its only field is a `Passphrase`.
impl zeroize::ZeroizeOnDrop for NewPassphrase {}

impl NewPassphrase {
    /// Normalizes `raw` and refuses it, with the reason, if it is obviously weak.
    pub fn new(raw: &str) -> Result<NewPassphrase, PassphraseError> {
        let passphrase = Passphrase::new(raw)?;
        weakness(&passphrase.0).map_or(Ok(NewPassphrase(passphrase)), |reason| {
            Err(PassphraseError::Weak(reason))
        })
    }

    /// The checked passphrase.
    pub fn passphrase(&self) -> &Passphrase {
        &self.0
    }
}

impl fmt::Debug for NewPassphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "NewPassphrase", self.0 .0.len())
    }
}

impl fmt::Display for NewPassphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "NewPassphrase", self.0 .0.len())
    }
}

/// The first rule of spec §3.1 that `normalized` fails, if any.
fn weakness(normalized: &str) -> Option<WeakPassphrase> {
    let lower = Zeroizing::new(normalized.to_lowercase());
    let chars: Zeroizing<Vec<char>> = Zeroizing::new(lower.chars().collect());
    if chars.iter().collect::<BTreeSet<_>>().len() < 5 {
        return Some(WeakPassphrase::FewDistinctCharacters);
    }
    if is_repetition(&chars) {
        return Some(WeakPassphrase::Repetition);
    }
    if SEQUENCES.iter().any(|run| {
        run.contains(lower.as_str())
            || run
                .chars()
                .rev()
                .collect::<String>()
                .contains(lower.as_str())
    }) {
        return Some(WeakPassphrase::Sequence);
    }
    if is_common(&lower) {
        return Some(WeakPassphrase::Common);
    }
    // The whole passphrase and its letters-only core, each as typed and un-leeted, and the
    // core of each un-leeted form: "P@$$w0rd!" and "2024dragon!!" are both caught.
    for variant in [lower.as_str(), core_of(&lower)] {
        for one_as in ['i', 'l'] {
            let unleeted = unleet(variant, one_as);
            let candidates = [variant, unleeted.as_str(), core_of(&unleeted)];
            if candidates.iter().any(|candidate| {
                candidate.chars().count() >= 4
                    && *candidate != lower.as_str()
                    && is_common(candidate)
            }) {
                return Some(WeakPassphrase::CommonWithAdditions);
            }
        }
    }
    None
}

/// True if `chars` is a shorter unit repeated (`abcabcabc`).
fn is_repetition(chars: &[char]) -> bool {
    let len = chars.len();
    (1..=len / 2).any(|unit| {
        len.is_multiple_of(unit)
            && chars
                .chunks(unit)
                .all(|chunk| chunk == chars.get(..unit).unwrap_or(&[]))
    })
}

fn is_common(candidate: &str) -> bool {
    COMMON_PASSWORDS.lines().any(|common| common == candidate)
}

/// The passphrase without leading and trailing characters that are not letters.
fn core_of(text: &str) -> &str {
    text.trim_matches(|c: char| !c.is_alphabetic())
}

/// Undoes common letter substitutions; `one_as` is what `1` stands for (`i` or `l`).
fn unleet(text: &str, one_as: char) -> Zeroizing<String> {
    Zeroizing::new(
        text.chars()
            .map(|c| match c {
                '@' | '4' => 'a',
                '8' => 'b',
                '3' => 'e',
                '6' | '9' => 'g',
                '!' => 'i',
                '1' => one_as,
                '0' => 'o',
                '$' | '5' => 's',
                '7' | '+' => 't',
                '2' => 'z',
                other => other,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weak(raw: &str) -> Option<WeakPassphrase> {
        match NewPassphrase::new(raw) {
            Ok(_) => None,
            Err(PassphraseError::Weak(reason)) => Some(reason),
            Err(other) => panic!("{raw:?} refused for another reason: {other}"),
        }
    }

    #[test]
    fn length_counts_characters_after_nfkc() {
        // Seven characters, but 14 bytes of UTF-8: too short.
        assert_eq!(
            Passphrase::new("ééééééé").unwrap_err(),
            PassphraseError::TooShort { chars: 7, min: 8 }
        );
        // "e" + combining acute is one character after NFKC.
        let decomposed = "e\u{301}".repeat(8);
        assert_eq!(Passphrase::new(&decomposed).unwrap().0.chars().count(), 8);
        // Composed and decomposed spellings derive from the same bytes.
        let composed = "\u{e9}".repeat(8);
        assert_eq!(
            Passphrase::new(&decomposed).unwrap().expose_secret(),
            Passphrase::new(&composed).unwrap().expose_secret()
        );
        // Full-width digits and ligatures fold to their plain forms.
        assert_eq!(
            Passphrase::new("ﬁ１２３４５６７").unwrap().expose_secret(),
            "fi1234567".as_bytes()
        );
        assert_eq!(
            Passphrase::new(&"x".repeat(1025)).unwrap_err(),
            PassphraseError::TooLong {
                chars: 1025,
                max: 1024
            }
        );
        assert_eq!(
            Passphrase::new("tab\there-ok").unwrap_err(),
            PassphraseError::ControlCharacter
        );
    }

    #[test]
    fn obviously_weak_passphrases_are_refused_with_their_reason() {
        use WeakPassphrase::*;
        assert_eq!(weak("aaaaaaaaaa"), Some(FewDistinctCharacters));
        assert_eq!(weak("abababababab"), Some(FewDistinctCharacters));
        assert_eq!(weak("abcdeabcde"), Some(Repetition));
        assert_eq!(weak("abcdefghij"), Some(Sequence));
        assert_eq!(weak("98765432"), Some(Sequence));
        assert_eq!(weak("qwertyuiop"), Some(Sequence));
        assert_eq!(weak("90123456"), Some(Sequence));
        assert_eq!(weak("password"), Some(Common));
        assert_eq!(weak("Baseball"), Some(Common));
        assert_eq!(weak("Password123!"), Some(CommonWithAdditions));
        assert_eq!(weak("2024dragon!!"), Some(CommonWithAdditions));
        assert_eq!(weak("P@ssw0rd"), Some(Common), "listed as it is");
        assert_eq!(weak("P@$$w0rd!"), Some(CommonWithAdditions));
        assert_eq!(weak("f00tb4ll"), Some(CommonWithAdditions));
    }

    #[test]
    fn reasonable_passphrases_pass() {
        for good in [
            "correct horse battery staple",
            "Tr0ub4dor&3x",
            "mein Hund heißt Bello 7",
            "夜空に光る星を数える",
            "velvet-tangerine-orbit",
        ] {
            assert!(NewPassphrase::new(good).is_ok(), "{good:?} should pass");
        }
    }

    #[test]
    fn the_common_list_is_sorted_lower_case_and_complete() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
        assert!(lines.iter().all(|l| *l == l.to_lowercase()));
    }
}

//! A backup's description: optional free text, at most 500 characters,
//! without control characters; blank means none.

pub const MAX_DESCRIPTION_CHARS: usize = 500;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDescription {
    #[error("the description is longer than {MAX_DESCRIPTION_CHARS} characters")]
    TooLong,
    #[error("the description contains control characters")]
    ControlCharacters,
}

/// Checks and trims a description.
pub fn parse_description(text: Option<String>) -> Result<Option<String>, InvalidDescription> {
    match text {
        None => Ok(None),
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => Err(InvalidDescription::TooLong),
        Some(d) if d.chars().any(char::is_control) => Err(InvalidDescription::ControlCharacters),
        Some(d) => Ok(Some(d.trim().to_owned()).filter(|d| !d.is_empty())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_trimmed_and_checked() {
        assert_eq!(
            parse_description(Some("  デプロイ前  ".into())),
            Ok(Some("デプロイ前".into()))
        );
        assert_eq!(parse_description(Some("   ".into())), Ok(None));
        assert_eq!(
            parse_description(Some("あ".repeat(500))).map(|d| d.is_some()),
            Ok(true)
        );
        assert_eq!(
            parse_description(Some("あ".repeat(501))),
            Err(InvalidDescription::TooLong)
        );
        assert_eq!(
            parse_description(Some("a\nb".into())),
            Err(InvalidDescription::ControlCharacters)
        );
    }
}

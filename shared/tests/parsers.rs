//! Property tests of the parsers every input goes through (SPEC §9): they
//! never panic, what they accept prints back the same, and nothing they
//! accept can name a path outside its folder. Bounded runs: part of
//! `make test`.

use nexus_shared::domain::{BackupId, BackupType, parse_description};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_parses_or_is_refused_without_panicking(s in "\\PC{0,80}") {
        if let Ok(id) = BackupId::parse(&s) {
            prop_assert_eq!(id.to_string(), s.as_str());
        }
        let _ = s.parse::<BackupType>();
        let _ = parse_description(Some(s.clone()));
    }

    #[test]
    fn near_misses_of_the_id_form_never_panic(s in "BKP-[0-9]{0,9}-[0-9]{0,7}-[a-z_]{0,16}(-[0-9]{0,5})?[./%]{0,3}") {
        if let Ok(id) = BackupId::parse(&s) {
            prop_assert_eq!(id.to_string(), s.as_str());
        }
    }

    #[test]
    fn every_accepted_id_names_a_plain_file_in_its_type_folder(
        date in "20[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])",
        time in "([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]",
        t in prop::sample::select(vec!["daily", "weekly", "monthly", "manual", "before_restore"]),
        seq in prop::option::of(2u32..9999),
    ) {
        let text = match seq {
            None => format!("BKP-{date}-{time}-{t}"),
            Some(n) => format!("BKP-{date}-{time}-{t}-{n}"),
        };
        let id = BackupId::parse(&text).unwrap();
        let path = id.relative_path();
        let parts: Vec<_> = path.components().collect();
        prop_assert_eq!(parts.len(), 2);
        prop_assert_eq!(parts[0].as_os_str().to_str().unwrap(), t);
        prop_assert!(!id.file_name().contains('/') && !id.file_name().contains(".."));
        prop_assert_eq!(BackupId::from_file_name(&id.file_name()), Some(id));
    }
}

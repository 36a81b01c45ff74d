//! Fuzzing (proptest): `SPOOLBOX_FUZZ_CASES=N` (default 20,000) runs N cases of each reader and N/20 whole-store opens.

use super::*;

pub(crate) fn fuzz_cases(per_mille: usize) -> u32 {
    u32::try_from(env_count("SPOOLBOX_FUZZ_CASES", 20_000) * per_mille / 1000).unwrap_or(u32::MAX)
}

/// A valid message file to mutate.
pub(crate) fn sample_message_bytes() -> Vec<u8> {
    let mut m = Message::draft(EntryId(42), EntryId(1), "Grüße – a sample");
    m.recipients.push(Recipient::new(
        0,
        "Ann",
        "ann@example.org",
        "SMTP",
        RecipientKind::To,
    ));
    m.recipients.push(Recipient::new(
        1,
        "Fax",
        "+49 30 1234",
        "FAX",
        RecipientKind::Cc,
    ));
    m.props.set(
        spoolbox::mapi::tags::PR_SENTMAIL_ENTRYID,
        PropValue::Binary(EntryId(2).to_bytes()),
    );
    m.attachments.push(Attachment {
        file_name: "a.txt".into(),
        mime_type: "text/plain".into(),
        data: b"hello".to_vec(),
    });
    m.body = "body".into();
    serde_json::to_vec_pretty(&m).unwrap()
}

/// Bytes: random, or a valid message file with a few bytes replaced, inserted or removed.
pub(crate) fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
    let base = sample_message_bytes();
    let len = base.len();
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300),
        4 => prop::collection::vec((0..len, any::<u8>(), 0..3u8), 1..8).prop_map(move |edits| {
            let mut b = base.clone();
            for (pos, byte, op) in edits {
                let pos = pos.min(b.len().saturating_sub(1));
                match op {
                    0 if !b.is_empty() => b[pos] = byte,
                    1 => b.insert(pos, byte),
                    _ if !b.is_empty() => {
                        b.remove(pos);
                    }
                    _ => {}
                }
            }
            b
        }),
    ]
}

/// JSON values with property-ish keys and every shape of value.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[0-9A-Fa-fx]{0,20}".prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("2026-01-01T00:00:00Z")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

pub(crate) fn prop_key() -> impl Strategy<Value = String> {
    let names: Vec<String> = [
        "PR_SUBJECT",
        "PR_MESSAGE_FLAGS",
        "PR_SUBMIT_FLAGS",
        "PR_CLIENT_SUBMIT_TIME",
        "PR_SENTMAIL_ENTRYID",
        "PR_DELETE_AFTER_SUBMIT",
        "PR_RESPONSIBILITY",
        "PR_DEFERRED_SEND_NUMBER",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    prop_oneof![
        prop::sample::select(names),
        // Hex tags of every property type, known or not.
        (
            any::<u16>(),
            prop::sample::select(vec![
                0x0002u16, 0x0003, 0x0005, 0x000A, 0x000B, 0x0014, 0x001E, 0x001F, 0x0040, 0x0048,
                0x0102, 0x1003, 0x101F, 0x1102, 0x0000, 0x00FF,
            ])
        )
            .prop_map(|(id, ty)| format!("0x{id:04X}{ty:04X}")),
        ".{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(1000), failure_persistence: None, ..ProptestConfig::default() })]

    /// The message loader never panics; what it accepts writes back to the same message.
    #[test]
    fn fuzz_parse_message_never_panics(bytes in message_bytes()) {
        if let Ok(m) = spoolbox::store::parse_message(&bytes) {
            let again = serde_json::to_vec_pretty(&m).unwrap();
            let back = spoolbox::store::parse_message(&again).unwrap();
            prop_assert_eq!(back.entry_id, m.entry_id);
            prop_assert_eq!(back.props, m.props);
        }
    }

    /// The property-bag reader never panics on any JSON, and what it reads round-trips.
    #[test]
    fn fuzz_prop_bag_reader(v in json_value()) {
        if let Ok(bag) = PropBag::from_json(&v) {
            let back = PropBag::from_json(&bag.to_json()).unwrap();
            prop_assert_eq!(back, bag);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(50), failure_persistence: None, ..ProptestConfig::default() })]

    /// A whole store opened on a directory of random files: it opens, every file in a
    /// folder is a message, in quarantine with a reason, or counted as junk (a name that is
    /// not the store's, left alone), and opens cleanly a second time.
    #[test]
    fn fuzz_store_open_on_random_files(
        files in prop::collection::vec(
            (0..6u8, 0..4u8, message_bytes(), any::<u16>()),
            1..12,
        ),
        journal in prop::collection::vec(any::<u8>(), 0..200),
        meta in prop::option::of(message_bytes()),
    ) {
        let fs = SimFs::new(Path::new("/sim"));
        drop(open(&fs));
        for (where_, naming, bytes, n) in &files {
            let folder = match where_ {
                0..=2 => EntryId(1 + u64::from(*where_)),
                3 => EntryId(4),
                4 => EntryId(u64::from(*n % 50) + 5),
                _ => EntryId(1),
            };
            let name = match naming {
                0 | 1 => format!("{}.json", EntryId(u64::from(*n % 64)).file_stem()),
                2 => format!("{n}.json"),
                _ => format!("x{n}"),
            };
            fs.put(&root().join("folders").join(folder.file_stem()).join(name), bytes);
        }
        fs.put(&root().join("journal").join("journal.log"), &journal);
        if let Some(m) = &meta {
            fs.put(&root().join("store.json"), m);
        }
        let (store, report) = Store::open_with_fs(&root(), Arc::new(fs.clone()))
            .map_err(|e| TestCaseError::fail(format!("does not open: {e}")))?;
        for q in &report.quarantined {
            prop_assert!(!q.reason.trim().is_empty());
        }
        let on_disk = fs.files_under(&root().join("folders")).len();
        let junk: usize = report.junk.iter().map(|j| j.count).sum();
        prop_assert_eq!(on_disk, store.message_count() + junk);
        drop(store);
        let (_, again) = Store::open_with_fs(&root(), Arc::new(fs)).unwrap();
        prop_assert!(again.quarantined.is_empty(), "{:?}", again.quarantined);
    }
}

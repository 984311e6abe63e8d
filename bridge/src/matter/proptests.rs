//! Property tests of the Matter files read at start: `commissioning.json`, `node-identity.json` and
//! the KV blobs under `matter/`. Nothing panics; a refusal names the file (and what was wrong).

use proptest::prelude::*;
use serde_json::json;

use super::{commissioning, kv, node_identity};
use crate::proptests::{cases, mutated};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(5_000)))]

    #[test]
    fn proptest_commissioning_file(doc in mutated(json!({"passcode": 20202021, "discriminator": 3840}))) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(commissioning::FILE_NAME), doc.to_string()).unwrap();
        match commissioning::load(dir.path()) {
            Ok(Some(s)) => {
                prop_assert!(commissioning::passcode_is_valid(s.passcode));
                prop_assert!(s.discriminator <= 0x0FFF);
            }
            Ok(None) => prop_assert!(false, "the file exists"),
            Err(e) => prop_assert!(e.to_string().contains("commissioning.json"), "{doc} -> {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(20_000)))]

    #[test]
    fn proptest_node_identity_file(doc in mutated(json!({
        "format": 1, "serial": "HB0123456789", "unique_id": "0123456789ABCDEF",
        "host_name": "0123456789AB", "origin": "random"
    }))) {
        let path = std::path::Path::new("/var/lib/hubbridge/node-identity.json");
        match node_identity::parse(path, doc.to_string().as_bytes()) {
            Ok(identity) => identity.check(path).unwrap(),
            Err(e) => prop_assert!(e.to_string().contains("node-identity.json"), "{doc} -> {e}"),
        }
    }

    /// A KV blob: its header is checked (magic, length, CRC) and a bad one is named with a reason.
    #[test]
    fn proptest_kv_blob(payload in prop::collection::vec(any::<u8>(), 0..64), flip in any::<Option<(usize, u8)>>(), cut in any::<Option<usize>>()) {
        let mut bytes = kv::encode(&payload);
        if let Some((at, mask)) = flip {
            let at = at % bytes.len();
            bytes[at] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        match kv::decode(&bytes) {
            Ok(decoded) => prop_assert_eq!(decoded, &payload[..], "a damaged blob decoded"),
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
    }

    #[test]
    fn proptest_kv_blob_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(reason) = kv::decode(&bytes) {
            prop_assert!(!reason.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2_000)))]

    /// The start-up check of the KV directory names the damaged file.
    #[test]
    fn proptest_kv_dir(bytes in prop::collection::vec(any::<u8>(), 0..40), key in any::<u16>()) {
        let dir = tempfile::tempdir().unwrap();
        let store = kv::SafeKvStore::new(dir.path());
        std::fs::create_dir_all(dir.path().join("matter")).unwrap();
        let name = format!("k_{key:04x}");
        std::fs::write(dir.path().join("matter").join(&name), &bytes).unwrap();
        match store.verify_all() {
            Ok(n) => prop_assert_eq!(n, 1),
            Err(e) => prop_assert!(e.to_string().contains(&name), "{e}"),
        }
    }
}

//! Azure IoT Hub shared-access-signature (SAS) tokens: HMAC-SHA256 over `<url-encoded resource>\n<expiry>`
//! with the base64-decoded device key. The token is a secret: it is never logged or put in an error.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::hmac;

/// Why a token could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SasError {
    /// The device key is not valid base64 (the value itself is never shown: it is a secret).
    #[error("the device key is not valid base64 ({0})")]
    BadKey(String),
    /// The key decodes to nothing.
    #[error("the device key is empty")]
    EmptyKey,
}

/// A parsed device key (the decoded bytes of the base64 primary or secondary key).
#[derive(Clone)]
pub struct DeviceKey(hmac::Key);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(***)")
    }
}

impl DeviceKey {
    /// Decodes a base64 key as shown in the Azure portal.
    pub fn from_base64(key: &str) -> Result<DeviceKey, SasError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|e| SasError::BadKey(e.to_string()))?;
        if bytes.is_empty() {
            return Err(SasError::EmptyKey);
        }
        Ok(DeviceKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The token fields `sr=<resource>&sig=<signature>&se=<expiry>` (URL-encoded), valid until `expiry`
    /// (Unix seconds). Prefix with `SharedAccessSignature ` for the MQTT password: see [`password`].
    pub fn sign(&self, resource: &str, expiry: u64) -> String {
        let sr = url_encode(resource);
        let to_sign = format!("{sr}\n{expiry}");
        let tag = hmac::sign(&self.0, to_sign.as_bytes());
        let sig = url_encode(&STANDARD.encode(tag.as_ref()));
        format!("sr={sr}&sig={sig}&se={expiry}")
    }

    /// The MQTT password: `SharedAccessSignature sr=…&sig=…&se=…`.
    pub fn password(&self, resource: &str, expiry: u64) -> String {
        format!("SharedAccessSignature {}", self.sign(resource, expiry))
    }
}

/// The resource a device token is scoped to: `<hub host>/devices/<device id>`.
pub fn device_resource(hub_host: &str, device_id: &str) -> String {
    format!("{hub_host}/devices/{device_id}")
}

/// Token expiry on a grid of `ttl` seconds: the multiple of `ttl` in `(now + ttl/2, now + 3·ttl/2]`. With
/// renewal at [`renew_at`] (half a `ttl` before expiry) the next token is exactly one `ttl` later, and any
/// party that knows the clock and `ttl` computes the same token at the same time (the tests do).
pub fn grid_expiry(now_secs: u64, ttl_secs: u64) -> u64 {
    let ttl = ttl_secs.max(2);
    ((now_secs + ttl / 2) / ttl + 1) * ttl
}

/// When to reconnect with a fresh token: half a `ttl` before `expiry`.
pub fn renew_at(expiry: u64, ttl_secs: u64) -> u64 {
    expiry.saturating_sub(ttl_secs.max(2) / 2)
}

/// Percent-encodes everything except RFC 3986 unreserved characters (as `encodeURIComponent` does for
/// the characters a resource URI and a base64 signature contain), upper-case hex.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector published with the Azure IoT SDKs' SAS token tests.
    #[test]
    fn signs_the_published_test_vector() {
        let key = DeviceKey::from_base64("+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=").unwrap();
        let token = key.sign(
            "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
            1471940363,
        );
        assert_eq!(
            token,
            "sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test\
             &sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363"
        );
        assert!(key
            .password(
                "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
                1471940363
            )
            .starts_with("SharedAccessSignature sr="));
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let e = DeviceKey::from_base64("not base64 at all!").unwrap_err();
        assert!(!e.to_string().contains("not base64 at all"));
        assert_eq!(DeviceKey::from_base64("").unwrap_err(), SasError::EmptyKey);
        assert_eq!(
            format!("{:?}", DeviceKey::from_base64("AAAA").unwrap()),
            "DeviceKey(***)"
        );
    }

    #[test]
    fn expiry_grid_and_renewal_are_deterministic() {
        assert_eq!(grid_expiry(1000, 100), 1100);
        assert_eq!(grid_expiry(1049, 100), 1100);
        assert_eq!(grid_expiry(1050, 100), 1200);
        for now in 1000..1200 {
            let se = grid_expiry(now, 100);
            assert!(se > now + 50 && se <= now + 150, "{now} -> {se}");
        }
        assert_eq!(renew_at(1200, 100), 1150);
        // Renewing at `renew_at` yields the next period's token.
        assert_eq!(grid_expiry(renew_at(1200, 100), 100), 1300);
    }
}

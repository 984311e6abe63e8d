//! DNS-SD advertising with mdns-sd: the commissionable service (`_matterc._udp`) while a
//! commissioning window is open and one operational service (`_matter._tcp`) per fabric, kept in
//! step with rs-matter's view, and only on the interfaces the config allows.
//!
//! mdns-sd carries one subtype per registered instance, while Matter's commissionable service
//! has several (`_L<long disc>`, `_S<short disc>`, `_CM`). Each subtype is therefore registered
//! as its own instance (same host, port and TXT): a controller browsing a subtype finds exactly
//! one; a plain `_matterc._udp` browse lists the node once per subtype, all pointing at the same
//! node. Operational services have a single `_I<fabric>` subtype and keep their exact name.

use std::collections::{HashMap, HashSet};

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
use rs_matter::error::{Error, ErrorCode};
use rs_matter::transport::network::MatterLocalService;
use rs_matter::Matter;

/// Start an mdns-sd daemon restricted to `interfaces` (empty: every interface but loopback).
pub fn start_daemon(interfaces: &[String]) -> Result<ServiceDaemon, mdns_sd::Error> {
    let daemon = ServiceDaemon::new()?;
    if interfaces.is_empty() {
        daemon.disable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])?;
    } else {
        daemon.disable_interface(IfKind::All)?;
        for name in interfaces {
            daemon.enable_interface(IfKind::Name(name.clone()))?;
        }
    }
    Ok(daemon)
}

/// Follow rs-matter's service set forever, (un)registering with the daemon as it changes.
pub async fn run(
    matter: &Matter<'_>,
    daemon: &ServiceDaemon,
    host_name: &str,
) -> Result<(), Error> {
    let mut registered: HashMap<MatterLocalService, Vec<String>> = HashMap::new();
    loop {
        let mut current = HashSet::new();
        matter.mdns_services(|service| {
            current.insert(service);
            Ok(())
        })?;

        let stale: Vec<MatterLocalService> = registered
            .keys()
            .filter(|s| !current.contains(*s))
            .cloned()
            .collect();
        for service in stale {
            for fullname in registered.remove(&service).unwrap_or_default() {
                tracing::info!(service = %fullname, "mDNS: withdrawing");
                if let Err(e) = daemon.unregister(&fullname) {
                    tracing::warn!(service = %fullname, error = %e, "mDNS: cannot withdraw");
                }
            }
        }

        for service in current {
            if registered.contains_key(&service) {
                continue;
            }
            let infos = service_infos(matter, &service, host_name)?;
            let mut names = Vec::new();
            for info in infos {
                let fullname = info.get_fullname().to_string();
                tracing::info!(service = %fullname, subtype = ?info.get_subtype(), "mDNS: advertising");
                match daemon.register(info) {
                    Ok(()) => names.push(fullname),
                    Err(e) => {
                        tracing::error!(service = %fullname, error = %e, "mDNS: cannot advertise")
                    }
                }
            }
            registered.insert(service, names);
        }

        matter.transport().wait_mdns().await;
    }
}

/// Expand one rs-matter service into mdns-sd registrations (one per subtype).
fn service_infos(
    matter: &Matter<'_>,
    service: &MatterLocalService,
    host_name: &str,
) -> Result<Vec<ServiceInfo>, Error> {
    let mut buf = [0u8; 512];
    let (svc, _) = service.service(matter, &mut buf)?;
    let txt: Vec<(String, String)> = svc
        .txt_kvs
        .clone()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ty = format!("{}.local.", svc.service_protocol);
    let subtypes: Vec<String> = svc.service_subtypes.clone().map(str::to_string).collect();

    let mut out = Vec::new();
    let mut add = |ty_domain: String, name: String| -> Result<(), Error> {
        let info = ServiceInfo::new(&ty_domain, &name, host_name, (), svc.port, txt.as_slice())
            .map_err(|e| {
                tracing::error!(error = %e, "mDNS: bad service description");
                Error::from(ErrorCode::MdnsError)
            })?
            .enable_addr_auto();
        out.push(info);
        Ok(())
    };

    if subtypes.is_empty() {
        add(ty.clone(), svc.name.to_string())?;
    }
    for (i, subtype) in subtypes.iter().enumerate() {
        let name = if i == 0 {
            svc.name.to_string()
        } else {
            sibling_name(svc.name, i)
        };
        add(format!("{subtype}._sub.{ty}"), name)?;
    }
    Ok(out)
}

/// A stable instance name for the i-th extra subtype registration, in the same 16-hex-digit form.
fn sibling_name(name: &str, i: usize) -> String {
    format!("{:016X}", fnv1a(format!("{name}/{i}").as_bytes()))
}

/// The mDNS host name: 12 hex digits derived from the node's identity, stable across restarts.
pub fn host_name(seed: &str) -> String {
    format!("{:012X}.local.", fnv1a(seed.as_bytes()) & 0xFFFF_FFFF_FFFF)
}

/// FNV-1a: a fixed hash, so names do not change when the toolchain does.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_names_are_distinct_and_stable() {
        let a = sibling_name("0011223344556677", 1);
        assert_eq!(a, sibling_name("0011223344556677", 1));
        assert_ne!(a, sibling_name("0011223344556677", 2));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn host_name_shape() {
        let h = host_name("seed");
        assert!(h.ends_with(".local."));
        assert_eq!(h.len(), 12 + ".local.".len());
    }
}

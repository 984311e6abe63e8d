//! DNS-SD for every Matter node of the process, on every configured interface, IPv4 and IPv6.
//!
//! What is advertised comes from rs-matter through its public hooks: each node's thread waits on
//! `Transport::wait_mdns()` and lists `Matter::mdns_services()` (the commissionable
//! `_matterc._udp` service while a window is open, one operational `_matter._tcp` service per
//! fabric), then hands the owned records to the process's one [`Advertiser`].
//!
//! The [`Advertiser`] registers them with **mdns-sd**, which does the work of a responder: one
//! IPv4 and one IPv6 socket joined on each selected interface, announcements, goodbyes
//! when a service goes, the addresses of the interface a query came in on, and announcing again
//! when an interface or address appears (it re-reads the interfaces every
//! [`IP_CHECK_INTERVAL_SECS`] seconds). It answers the main-type PTR and every instance and host
//! question (SRV, TXT, A, AAAA, ANY).
//!
//! mdns-sd 0.21.7 gets three things wrong that Matter controllers depend on (read from its source
//! and seen on the wire; see PEERS.md): it answers a subtype PTR query
//! (`_S15._sub._matterc._udp.local`, what a controller sends for a manual pairing code) with a
//! PTR owned by the main type's name, it never answers QTYPE=ANY on a service-type or subtype
//! name (what CHIP's minimal mDNS sends to browse), and it holds one subtype per instance. The
//! [`gap`] responder beside it answers exactly those questions — and only those — with the
//! records named as RFC 6763 §7.1 wants, built by rs-matter's own `Host::respond`, with the
//! addresses of the interface the question arrived on. Both listen on port 5353
//! (SO_REUSEADDR/SO_REUSEPORT: every socket of the port gets every multicast datagram).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, Weak};

use rs_matter::error::Error;
use rs_matter::transport::network::MatterLocalService;
use rs_matter::Matter;

mod gap;

/// How often mdns-sd re-reads the interfaces and announces on a new address.
pub const IP_CHECK_INTERVAL_SECS: u32 = 2;

/// TTL of the gap responder's records (RFC 6762 §10: 120 s for records naming a host's addresses).
const HOST_TTL_SECS: u32 = 120;

#[derive(Debug, thiserror::Error)]
pub enum MdnsSetupError {
    #[error("cannot list network interfaces: {0}")]
    List(std::io::Error),
    #[error("network interface `{0}` (bridge.interfaces) not found; interfaces here: {1}")]
    NotFound(String, String),
    #[error(
        "no network interface with an IPv6 address to advertise Matter on; set bridge.interfaces"
    )]
    NoneSuitable,
    #[error("starting mdns-sd: {0}")]
    Daemon(String),
    #[error("mDNS socket: {0}")]
    Socket(std::io::Error),
}

/// The interfaces mDNS serves: the configured ones (each must exist), or every non-loopback
/// interface with an IPv6 address when none is configured. New addresses on these interfaces
/// are picked up while running.
pub fn select_interfaces(configured: &[String]) -> Result<Vec<String>, MdnsSetupError> {
    let all = if_addrs::get_if_addrs().map_err(MdnsSetupError::List)?;
    let mut names: Vec<String> = Vec::new();
    if configured.is_empty() {
        for iface in all.iter().filter(|i| !i.is_loopback()) {
            if matches!(iface.addr, if_addrs::IfAddr::V6(_)) && !names.contains(&iface.name) {
                names.push(iface.name.clone());
            }
        }
        if names.is_empty() {
            return Err(MdnsSetupError::NoneSuitable);
        }
        return Ok(names);
    }
    for name in configured {
        if !all.iter().any(|i| &i.name == name) {
            // getifaddrs lists an interface once per address: name each once, in order.
            let mut here: Vec<&str> = Vec::new();
            for i in &all {
                if !here.contains(&i.name.as_str()) {
                    here.push(&i.name);
                }
            }
            return Err(MdnsSetupError::NotFound(name.clone(), here.join(", ")));
        }
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    Ok(names)
}

/// One DNS-SD service of one node, owned (rs-matter lends its records only for a call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedService {
    /// Instance label, e.g. `3A5F…` (commissionable) or `<fabric>-<node>` (operational).
    pub instance: String,
    /// `_matterc` or `_matter`.
    pub service: String,
    /// `_udp` or `_tcp`.
    pub protocol: String,
    pub port: u16,
    /// Subtype labels (`_L3840`, `_S15`, `_V65521`, `_CM`, `_I…`).
    pub subtypes: Vec<String>,
    pub txt: Vec<(String, String)>,
    /// The node's host label (without `.local`).
    pub host: String,
}

impl OwnedService {
    /// `_matterc._udp.local.`
    pub fn type_domain(&self) -> String {
        format!("{}.{}.local.", self.service, self.protocol)
    }

    /// `<instance>._matterc._udp.local.` — mdns-sd's key for the registration.
    pub fn fullname(&self) -> String {
        format!("{}.{}", self.instance, self.type_domain())
    }

    fn service_info(&self) -> Result<mdns_sd::ServiceInfo, mdns_sd::Error> {
        // mdns-sd holds one subtype per instance; it announces that one. The gap responder
        // answers queries for all of them.
        let ty = match self.subtypes.first() {
            Some(sub) => format!("{sub}._sub.{}", self.type_domain()),
            None => self.type_domain(),
        };
        let txt: Vec<(&str, &str)> = self
            .txt
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let no_addresses: &[IpAddr] = &[];
        let mut info = mdns_sd::ServiceInfo::new(
            &ty,
            &self.instance,
            &format!("{}.local.", self.host),
            no_addresses,
            self.port,
            &txt[..],
        )?
        .enable_addr_auto();
        // No RFC 6762 probing: Matter's names cannot collide (a random 64-bit commissionable
        // instance, `<compressed fabric id>-<node id>` which the fabric's commissioner keeps unique,
        // a random host label), and probing kept a new service silent for ~750 ms — the time a
        // controller waits, right after commissioning, to find the node's operational record.
        // CHIP's and rs-matter's own responders do not probe either.
        info.set_requires_probe(false);
        Ok(info)
    }
}

/// What every node currently advertises, by node id. Read by the gap responder.
type Table = Arc<Mutex<BTreeMap<String, Vec<OwnedService>>>>;

/// The process's DNS-SD responder: mdns-sd plus the gap responder, for one set of interfaces.
/// Shared by every node (see [`Advertiser::shared`]); stops when the last node lets go.
pub struct Advertiser {
    daemon: mdns_sd::ServiceDaemon,
    interfaces: Vec<String>,
    table: Table,
    gap: Option<gap::Gap>,
}

impl std::fmt::Debug for Advertiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertiser")
            .field("interfaces", &self.interfaces)
            .finish_non_exhaustive()
    }
}

static SHARED: Mutex<Vec<(Vec<String>, Weak<Advertiser>)>> = Mutex::new(Vec::new());

impl Advertiser {
    /// The running advertiser for these configured interfaces, started on first use.
    pub fn shared(configured: &[String]) -> Result<Arc<Advertiser>, MdnsSetupError> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        shared.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(running) = shared
            .iter()
            .find(|(key, _)| key == configured)
            .and_then(|(_, weak)| weak.upgrade())
        {
            return Ok(running);
        }
        let started = Arc::new(Self::start(configured)?);
        shared.push((configured.to_vec(), Arc::downgrade(&started)));
        Ok(started)
    }

    fn start(configured: &[String]) -> Result<Self, MdnsSetupError> {
        let interfaces = select_interfaces(configured)?;
        let daemon =
            mdns_sd::ServiceDaemon::new().map_err(|e| MdnsSetupError::Daemon(e.to_string()))?;
        let fail = |e: mdns_sd::Error| MdnsSetupError::Daemon(e.to_string());
        // mdns-sd starts on every interface, loopback included: keep only ours.
        daemon
            .disable_interface(mdns_sd::IfKind::All)
            .map_err(fail)?;
        let kinds: Vec<mdns_sd::IfKind> = interfaces
            .iter()
            .map(|n| mdns_sd::IfKind::Name(n.clone()))
            .collect();
        daemon.enable_interface(kinds).map_err(fail)?;
        daemon
            .set_ip_check_interval(IP_CHECK_INTERVAL_SECS)
            .map_err(fail)?;
        let table: Table = Arc::default();
        let gap = gap::Gap::start(interfaces.clone(), table.clone())?;
        tracing::info!(interfaces = ?interfaces, "mDNS (mdns-sd) serving");
        Ok(Self {
            daemon,
            interfaces,
            table,
            gap: Some(gap),
        })
    }

    pub fn interfaces(&self) -> &[String] {
        &self.interfaces
    }

    /// Makes `services` what `node` advertises: registers the new or changed ones, unregisters
    /// (with a goodbye) the ones that went.
    pub fn publish(&self, node: &str, services: Vec<OwnedService>) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let old = table.remove(node).unwrap_or_default();
        for gone in old.iter().filter(|o| !services.contains(o)) {
            if services.iter().any(|n| n.fullname() == gone.fullname()) {
                continue; // changed: re-registered below
            }
            tracing::info!(node, service = %gone.fullname(), "mDNS: withdrawing service");
            if let Err(e) = self.daemon.unregister(&gone.fullname()) {
                tracing::warn!(node, service = %gone.fullname(), error = %e, "mDNS: unregister failed");
            }
        }
        for new in services.iter().filter(|n| !old.contains(n)) {
            tracing::info!(node, service = %new.fullname(), port = new.port, subtypes = ?new.subtypes, "mDNS: advertising service");
            match new.service_info() {
                Ok(info) => {
                    if let Err(e) = self.daemon.register(info) {
                        tracing::error!(node, service = %new.fullname(), error = %e, "mDNS: register failed");
                    }
                }
                Err(e) => {
                    tracing::error!(node, service = %new.fullname(), error = %e, "mDNS: service record refused")
                }
            }
        }
        table.insert(node.to_owned(), services);
    }
}

impl Drop for Advertiser {
    fn drop(&mut self) {
        let table = std::mem::take(&mut *self.table.lock().unwrap_or_else(|p| p.into_inner()));
        for service in table.values().flatten() {
            let _ = self.daemon.unregister(&service.fullname());
        }
        if let Some(gap) = self.gap.take() {
            gap.stop();
        }
        // Waits for the goodbyes to go out.
        if let Ok(rx) = self.daemon.shutdown() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// Lists what rs-matter wants advertised now, as owned records.
fn collect(matter: &Matter<'_>, host: &str) -> Result<Vec<OwnedService>, Error> {
    // Listing and expanding are separate steps: expanding reads the node's state again.
    let mut listed: Vec<MatterLocalService> = Vec::new();
    matter.mdns_services(|s| {
        listed.push(s);
        Ok(())
    })?;
    let mut out = Vec::with_capacity(listed.len());
    for service in listed {
        let mut buf = [0u8; 1024];
        let (svc, _) = service.service(matter, &mut buf)?;
        out.push(OwnedService {
            instance: svc.name.to_owned(),
            service: svc.service.to_owned(),
            protocol: svc.protocol.to_owned(),
            port: svc.port,
            subtypes: svc.service_subtypes.map(str::to_owned).collect(),
            txt: svc
                .txt_kvs
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            host: host.to_owned(),
        });
    }
    Ok(out)
}

/// Runs on the node's thread: keeps the advertiser in step with rs-matter (window opened or
/// closed, fabric added or removed) until stopped.
pub async fn watch(
    matter: &Matter<'_>,
    advertiser: &Advertiser,
    node: &str,
    host: &str,
) -> Result<(), Error> {
    loop {
        let services = collect(matter, host)?;
        advertiser.publish(node, services);
        matter.transport().wait_mdns().await;
    }
}

/// An interface's addresses right now, for answers sent on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfAddrs {
    pub index: u32,
    pub name: String,
    pub v4: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub v6: Vec<(Ipv6Addr, Ipv6Addr)>,
}

/// The current addresses (with netmasks) of the named interfaces, link-local IPv6 first.
pub fn interface_addrs(names: &[String]) -> Vec<IfAddrs> {
    let Ok(all) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut by_name: HashMap<&str, IfAddrs> = HashMap::new();
    for iface in all.iter().filter(|i| names.contains(&i.name)) {
        let entry = by_name
            .entry(iface.name.as_str())
            .or_insert_with(|| IfAddrs {
                name: iface.name.clone(),
                ..IfAddrs::default()
            });
        if let Some(index) = iface.index {
            entry.index = index;
        }
        match &iface.addr {
            if_addrs::IfAddr::V4(a) => entry.v4.push((a.ip, a.netmask)),
            if_addrs::IfAddr::V6(a) => entry.v6.push((a.ip, a.netmask)),
        }
    }
    let mut out: Vec<IfAddrs> = names
        .iter()
        .filter_map(|n| by_name.remove(n.as_str()))
        .filter(|i| i.index != 0)
        .collect();
    for iface in &mut out {
        iface.v6.sort_by_key(|(ip, _)| !ip.is_unicast_link_local());
    }
    out
}

/// The interface a datagram from `source` (with the IPv6 scope id the socket reported) came in
/// on: by scope id for link-local sources, else the interface whose subnet holds the source.
pub fn arrival_interface(ifaces: &[IfAddrs], source: IpAddr, scope_id: u32) -> Option<&IfAddrs> {
    if scope_id != 0 {
        if let Some(found) = ifaces.iter().find(|i| i.index == scope_id) {
            return Some(found);
        }
    }
    ifaces.iter().find(|i| match source {
        IpAddr::V4(src) => i.v4.iter().any(|(ip, mask)| {
            (u32::from(*ip) & u32::from(*mask)) == (u32::from(src) & u32::from(*mask))
        }),
        IpAddr::V6(src) => i.v6.iter().any(|(ip, mask)| {
            (u128::from(*ip) & u128::from(*mask)) == (u128::from(src) & u128::from(*mask))
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_interface_is_named_with_the_ones_there_are() {
        let err = select_interfaces(&["no-such-if0".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`no-such-if0`"), "{err}");
        assert!(err.contains("bridge.interfaces"), "{err}");
        assert!(err.contains("lo"), "{err}");
    }

    fn iface(index: u32, v4: &[(&str, &str)], v6: &[(&str, &str)]) -> IfAddrs {
        IfAddrs {
            index,
            name: format!("if{index}"),
            v4: v4
                .iter()
                .map(|(a, m)| (a.parse().unwrap(), m.parse().unwrap()))
                .collect(),
            v6: v6
                .iter()
                .map(|(a, m)| (a.parse().unwrap(), m.parse().unwrap()))
                .collect(),
        }
    }

    #[test]
    fn arrival_interface_by_scope_then_by_subnet() {
        let eth = iface(
            2,
            &[("192.168.1.10", "255.255.255.0")],
            &[
                ("fe80::1", "ffff:ffff:ffff:ffff::"),
                ("fd00:1::10", "ffff:ffff:ffff:ffff::"),
            ],
        );
        let wifi = iface(
            3,
            &[("10.0.0.5", "255.255.0.0")],
            &[
                ("fe80::2", "ffff:ffff:ffff:ffff::"),
                ("fd00:2::5", "ffff:ffff:ffff:ffff::"),
            ],
        );
        let all = [eth, wifi];
        let by =
            |ip: &str, scope| arrival_interface(&all, ip.parse().unwrap(), scope).map(|i| i.index);
        // Link-local sources look alike on every link: only the scope id tells.
        assert_eq!(by("fe80::99", 3), Some(3));
        assert_eq!(by("fe80::99", 2), Some(2));
        assert_eq!(by("10.0.200.1", 0), Some(3));
        assert_eq!(by("192.168.1.77", 0), Some(2));
        assert_eq!(by("fd00:2::77", 0), Some(3));
        // From a network the node is not on: no interface, no answer.
        assert_eq!(by("172.16.0.1", 0), None);
        assert_eq!(by("2001:db8::1", 0), None);
    }

    #[test]
    fn service_names_follow_rfc_6763() {
        let s = OwnedService {
            instance: "0123456789ABCDEF".into(),
            service: "_matterc".into(),
            protocol: "_udp".into(),
            port: 5540,
            subtypes: vec!["_L3840".into(), "_S15".into(), "_CM".into()],
            txt: vec![("D".into(), "3840".into()), ("CM".into(), "1".into())],
            host: "A1B2C3D4E5F6".into(),
        };
        assert_eq!(s.type_domain(), "_matterc._udp.local.");
        assert_eq!(s.fullname(), "0123456789ABCDEF._matterc._udp.local.");
        let info = s.service_info().unwrap();
        assert_eq!(info.get_fullname(), s.fullname());
        assert_eq!(info.get_hostname(), "A1B2C3D4E5F6.local.");
        assert_eq!(info.get_port(), 5540);
        assert_eq!(
            info.get_subtype().as_deref(),
            Some("_L3840._sub._matterc._udp.local.")
        );
        assert_eq!(info.get_property_val_str("D"), Some("3840"));
        assert!(!info.requires_probe());
    }
}

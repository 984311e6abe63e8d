//! The questions mdns-sd answers wrongly or not at all, answered right (see the parent module):
//! PTR or ANY on a subtype name (`_S15._sub._matterc._udp.local`), and ANY on a service-type
//! name (`_matterc._udp.local`, `_matter._tcp.local`). Any other query is left to mdns-sd.
//!
//! One IPv4 and one IPv6 socket on port 5353, joined on the served interfaces, each read by its
//! own thread. The answer is rs-matter's `Host::respond` for each advertised service, with the
//! host's addresses on the interface the query arrived on, sent back on that interface.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::base::{Message, Rtype};
use rs_matter::transport::network::mdns::builtin::{Host, RespondMode};
use rs_matter::transport::network::mdns::MdnsLocalService;
use rs_matter::transport::network::mdns::{
    MDNS_IPV4_BROADCAST_ADDR, MDNS_IPV6_BROADCAST_ADDR, MDNS_PORT,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use super::{arrival_interface, interface_addrs, IfAddrs, MdnsSetupError, Table, HOST_TTL_SECS};

/// How often the threads re-read the interfaces' addresses and join new interfaces while no
/// question comes (each answered question re-reads them too).
const REFRESH: Duration = Duration::from_secs(2);
/// The same question on the same interface is answered at most this often (RFC 6762 §6 asks
/// for about once a second per record; controllers retry faster while browsing).
const MIN_REPEAT: Duration = Duration::from_millis(250);

pub(super) struct Gap {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Gap {
    pub(super) fn start(interfaces: Vec<String>, table: Table) -> Result<Self, MdnsSetupError> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for v4 in [false, true] {
            let socket = open(v4).map_err(MdnsSetupError::Socket)?;
            let mut worker = Worker {
                v4,
                socket,
                interfaces: interfaces.clone(),
                table: table.clone(),
                stop: stop.clone(),
                joined: Vec::new(),
                addrs: Vec::new(),
                refreshed: None,
                answered: HashMap::new(),
            };
            worker.refresh();
            threads.push(
                std::thread::Builder::new()
                    .name(if v4 { "mdns-gap4" } else { "mdns-gap6" }.into())
                    .spawn(move || worker.run())
                    .map_err(MdnsSetupError::Socket)?,
            );
        }
        Ok(Self { stop, threads })
    }

    pub(super) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn open(v4: bool) -> std::io::Result<UdpSocket> {
    let domain = if v4 { Domain::IPV4 } else { Domain::IPV6 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    let bind: SocketAddr = if v4 {
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, MDNS_PORT).into()
    } else {
        socket.set_only_v6(true)?;
        SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, MDNS_PORT, 0, 0).into()
    };
    socket.bind(&bind.into())?;
    if v4 {
        socket.set_multicast_ttl_v4(255)?;
        socket.set_multicast_all_v4(false)?;
    } else {
        socket.set_multicast_hops_v6(255)?;
        socket.set_multicast_all_v6(false)?;
    }
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    Ok(socket.into())
}

struct Worker {
    v4: bool,
    socket: UdpSocket,
    interfaces: Vec<String>,
    table: Table,
    stop: Arc<AtomicBool>,
    joined: Vec<u32>,
    addrs: Vec<IfAddrs>,
    refreshed: Option<Instant>,
    answered: HashMap<(u32, String), Instant>,
}

impl Worker {
    fn refresh(&mut self) {
        self.addrs = interface_addrs(&self.interfaces);
        self.refreshed = Some(Instant::now());
        let sock = socket2::SockRef::from(&self.socket);
        self.joined
            .retain(|index| self.addrs.iter().any(|i| i.index == *index));
        for iface in &self.addrs {
            if self.joined.contains(&iface.index) {
                continue;
            }
            let joined = if self.v4 {
                sock.join_multicast_v4_n(
                    &MDNS_IPV4_BROADCAST_ADDR,
                    &InterfaceIndexOrAddress::Index(iface.index),
                )
            } else {
                sock.join_multicast_v6(&MDNS_IPV6_BROADCAST_ADDR, iface.index)
            };
            match joined {
                Ok(()) => self.joined.push(iface.index),
                Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                    self.joined.push(iface.index)
                }
                // An interface without an address of this family yet: tried again later.
                Err(e) => {
                    tracing::debug!(interface = %iface.name, v4 = self.v4, error = %e, "mDNS: cannot join the group yet")
                }
            }
        }
    }

    fn run(mut self) {
        let mut buf = vec![0u8; 9000];
        let mut out = vec![0u8; 9000];
        while !self.stop.load(Ordering::Relaxed) {
            if self.refreshed.is_none_or(|t| t.elapsed() >= REFRESH) {
                self.refresh();
            }
            let (len, from) = match self.socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => {
                    tracing::warn!(error = %e, "mDNS: receive failed");
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            };
            let data = &buf[..len];
            let Some(key) = gap_question(data) else {
                continue;
            };
            // Answer with the addresses the interfaces have now (an address added a moment ago
            // included): one getifaddrs per question we answer, which are few.
            self.refresh();
            let scope = match from {
                SocketAddr::V6(a) => a.scope_id(),
                SocketAddr::V4(_) => 0,
            };
            let source = match from.ip() {
                IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map(IpAddr::V4)
                    .unwrap_or(IpAddr::V6(v6)),
                v4 => v4,
            };
            let Some(iface) = arrival_interface(&self.addrs, source, scope).cloned() else {
                continue;
            };
            let legacy = from.port() != MDNS_PORT;
            if !legacy {
                let now = Instant::now();
                let k = (iface.index, key);
                if self
                    .answered
                    .get(&k)
                    .is_some_and(|t| now.duration_since(*t) < MIN_REPEAT)
                {
                    continue;
                }
                self.answered
                    .retain(|_, t| now.duration_since(*t) < MIN_REPEAT);
                self.answered.insert(k, now);
            }
            self.answer(data, from, &iface, legacy, &mut out);
        }
    }

    fn answer(
        &self,
        query: &[u8],
        from: SocketAddr,
        iface: &IfAddrs,
        legacy: bool,
        out: &mut [u8],
    ) {
        let services: Vec<super::OwnedService> = {
            let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
            table.values().flatten().cloned().collect()
        };
        let v6: Vec<Ipv6Addr> = iface.v6.iter().map(|(ip, _)| *ip).collect();
        let v4 = iface.v4.first().map(|(ip, _)| *ip);
        for s in &services {
            let service_protocol = format!("{}.{}", s.service, s.protocol);
            let local = MdnsLocalService {
                name: &s.instance,
                service: &s.service,
                protocol: &s.protocol,
                service_protocol: &service_protocol,
                port: s.port,
                service_subtypes: s.subtypes.iter().map(String::as_str),
                txt_kvs: s.txt.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            };
            let host = Host {
                hostname: &s.host,
                ip: v4.unwrap_or(Ipv4Addr::UNSPECIFIED),
                ipv6: &v6,
            };
            let (len, mode) = match host.respond(&local, query, out, HOST_TTL_SECS, legacy) {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = ?e, "mDNS: cannot answer a query");
                    continue;
                }
            };
            let to = match mode {
                RespondMode::Skip => continue,
                RespondMode::Unicast => from,
                RespondMode::Multicast { delay } => {
                    if delay {
                        // RFC 6762 §6: shared answers wait 20–120 ms so responders do not collide.
                        std::thread::sleep(Duration::from_millis(rand::random_range(20..=120)));
                    }
                    if self.v4 {
                        let Some(ip) = v4 else { continue };
                        if let Err(e) =
                            socket2::SockRef::from(&self.socket).set_multicast_if_v4(&ip)
                        {
                            tracing::debug!(error = %e, "mDNS: cannot pick the IPv4 interface");
                            continue;
                        }
                        SocketAddrV4::new(MDNS_IPV4_BROADCAST_ADDR, MDNS_PORT).into()
                    } else {
                        SocketAddrV6::new(MDNS_IPV6_BROADCAST_ADDR, MDNS_PORT, 0, iface.index)
                            .into()
                    }
                }
            };
            if let Err(e) = self.socket.send_to(&out[..len], to) {
                tracing::debug!(to = %to, error = %e, "mDNS: answer not sent");
            }
        }
    }
}

/// The first question of a query that mdns-sd does not answer right, as `name/type`; `None`
/// for responses, unparsable datagrams and queries mdns-sd handles.
pub(super) fn gap_question(data: &[u8]) -> Option<String> {
    let message = Message::from_octets(data).ok()?;
    if message.header().qr() {
        return None;
    }
    for question in message.question() {
        let question = question.ok()?;
        let qtype = question.qtype();
        if !matches!(qtype, Rtype::PTR | Rtype::ANY) {
            continue;
        }
        let name = question.qname().to_string().to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        let subtype = name.ends_with("._sub._matterc._udp.local")
            || name.ends_with("._sub._matter._tcp.local");
        let service_any =
            qtype == Rtype::ANY && (name == "_matterc._udp.local" || name == "_matter._tcp.local");
        if subtype || service_any {
            return Some(format!("{name}/{qtype}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::base::{MessageBuilder, Name};

    fn query(questions: &[(&str, Rtype)], response: bool) -> Vec<u8> {
        let mut msg = MessageBuilder::new_vec();
        msg.header_mut().set_qr(response);
        let mut q = msg.question();
        for (name, ty) in questions {
            let name: Name<Vec<u8>> = name.parse().unwrap();
            q.push((name, *ty)).unwrap();
        }
        q.finish()
    }

    #[test]
    fn picks_only_the_questions_mdns_sd_gets_wrong() {
        let gap = |qs: &[(&str, Rtype)]| gap_question(&query(qs, false));
        // What a controller sends for a manual pairing code (CHIP: ANY; others: PTR).
        assert!(gap(&[("_S15._sub._matterc._udp.local", Rtype::ANY)]).is_some());
        assert!(gap(&[("_S15._sub._matterc._udp.local", Rtype::PTR)]).is_some());
        assert!(gap(&[("_L3840._sub._matterc._udp.local.", Rtype::PTR)]).is_some());
        assert!(gap(&[("_I0123456789ABCDEF._sub._matter._tcp.local", Rtype::PTR)]).is_some());
        // Case does not matter in DNS names.
        assert!(gap(&[("_CM._SUB._MATTERC._UDP.LOCAL", Rtype::ANY)]).is_some());
        // Browsing the main type with ANY: mdns-sd answers only PTR questions there.
        assert!(gap(&[("_matterc._udp.local", Rtype::ANY)]).is_some());
        // mdns-sd answers these right: left to it.
        assert!(gap(&[("_matterc._udp.local", Rtype::PTR)]).is_none());
        assert!(gap(&[("ABCD._matterc._udp.local", Rtype::ANY)]).is_none());
        assert!(gap(&[("ABCD._matterc._udp.local", Rtype::SRV)]).is_none());
        assert!(gap(&[("A1B2C3D4E5F6.local", Rtype::AAAA)]).is_none());
        assert!(gap(&[("_http._tcp.local", Rtype::ANY)]).is_none());
        // A mixed query is answered when one of its questions is ours.
        assert!(gap(&[
            ("A1B2C3D4E5F6.local", Rtype::AAAA),
            ("_V65521._sub._matterc._udp.local", Rtype::PTR)
        ])
        .is_some());
        // Responses and garbage are ignored.
        assert!(gap_question(&query(
            &[("_S15._sub._matterc._udp.local", Rtype::ANY)],
            true
        ))
        .is_none());
        assert!(gap_question(b"\x00\x01garbage").is_none());
        assert!(gap_question(&[]).is_none());
    }
}

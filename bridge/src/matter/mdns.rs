//! DNS-SD for the node: the commissionable service (`_matterc._udp` with its `_L`, `_S`, `_V`,
//! `_CM` subtypes) while a commissioning window is open and one operational service
//! (`_matter._tcp`, `_I<fabric>` subtype) per fabric, kept in step with rs-matter's view, on the
//! configured interface only.
//!
//! The responder is rs-matter's built-in one. mdns-sd (0.21.7) was used first and dropped: it
//! answers a subtype query (`_S15._sub._matterc._udp.local`, what a controller sends for a manual
//! pairing code) with a PTR named after the main type and puts the subtype PTR in the additional
//! section, and its once-per-second multicast limit then drops that answer whenever the same
//! main-type PTR went out for another query. Controllers found the node only from its start-up
//! announcements: pairing by manual code more than a few seconds after start failed ("Discovery
//! timed out"). The built-in responder answers each subtype under its own name.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};

use rs_matter::crypto::Crypto;
use rs_matter::error::{Error, ErrorCode};
use rs_matter::transport::network::mdns::builtin::{BuiltinMdns, Host};
use rs_matter::transport::network::mdns::{
    MDNS_IPV4_BROADCAST_ADDR, MDNS_IPV6_BROADCAST_ADDR, MDNS_PORT,
};
use rs_matter::Matter;
use socket2::{Domain, Protocol, Socket, Type};

/// The interface mDNS runs on, with the addresses advertised for the node.
#[derive(Debug, Clone)]
pub struct MdnsInterface {
    pub name: String,
    pub index: u32,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Addr>,
}

#[derive(Debug, thiserror::Error)]
pub enum MdnsSetupError {
    #[error("cannot list network interfaces: {0}")]
    List(std::io::Error),
    #[error("network interface `{0}` (bridge.interfaces) not found or has no IPv6 address")]
    NotFound(String),
    #[error(
        "no network interface with an IPv6 address to advertise Matter on; set bridge.interfaces"
    )]
    NoneSuitable,
    #[error("mDNS socket: {0}")]
    Socket(std::io::Error),
}

/// Pick the interface: the first configured one, else the first non-loopback interface with an
/// IPv6 address (Matter runs over IPv6). Only one interface is served; more configured ones are
/// reported and ignored.
pub fn pick_interface(configured: &[String]) -> Result<MdnsInterface, MdnsSetupError> {
    let all = if_addrs::get_if_addrs().map_err(MdnsSetupError::List)?;
    if configured.len() > 1 {
        tracing::warn!(interfaces = ?configured, using = %configured[0], "mDNS serves one interface; using the first");
    }
    let name = match configured.first() {
        Some(name) => name.clone(),
        None => all
            .iter()
            .filter(|i| !i.is_loopback())
            .find(|i| matches!(i.addr, if_addrs::IfAddr::V6(_)))
            .map(|i| i.name.clone())
            .ok_or(MdnsSetupError::NoneSuitable)?,
    };
    let mut found = MdnsInterface {
        name: name.clone(),
        index: 0,
        ipv4: None,
        ipv6: Vec::new(),
    };
    for iface in all.iter().filter(|i| i.name == name) {
        found.index = iface.index.unwrap_or(found.index);
        match &iface.addr {
            if_addrs::IfAddr::V4(v4) if found.ipv4.is_none() => found.ipv4 = Some(v4.ip),
            if_addrs::IfAddr::V6(v6) if !found.ipv6.contains(&v6.ip) => found.ipv6.push(v6.ip),
            _ => {}
        }
    }
    if found.ipv6.is_empty() || found.index == 0 {
        return Err(MdnsSetupError::NotFound(name));
    }
    // Link-local first: every controller on the link can use it.
    found
        .ipv6
        .sort_by_key(|ip| (ip.segments()[0] & 0xffc0) != 0xfe80);
    Ok(found)
}

/// Bind the mDNS socket and join the groups on the chosen interface only.
pub fn bind(iface: &MdnsInterface) -> Result<async_io::Async<UdpSocket>, MdnsSetupError> {
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))
        .map_err(MdnsSetupError::Socket)?;
    socket
        .set_reuse_address(true)
        .map_err(MdnsSetupError::Socket)?;
    socket.set_only_v6(false).map_err(MdnsSetupError::Socket)?;
    let addr = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, MDNS_PORT, 0, 0));
    socket.bind(&addr.into()).map_err(MdnsSetupError::Socket)?;
    socket
        .join_multicast_v6(&MDNS_IPV6_BROADCAST_ADDR, iface.index)
        .map_err(MdnsSetupError::Socket)?;
    socket
        .set_multicast_if_v6(iface.index)
        .map_err(MdnsSetupError::Socket)?;
    if let Some(v4) = iface.ipv4 {
        socket
            .join_multicast_v4(&MDNS_IPV4_BROADCAST_ADDR, &v4)
            .map_err(MdnsSetupError::Socket)?;
        socket
            .set_multicast_if_v4(&v4)
            .map_err(MdnsSetupError::Socket)?;
    }
    async_io::Async::new_nonblocking(UdpSocket::from(socket)).map_err(MdnsSetupError::Socket)
}

/// Answer queries and announce rs-matter's services until stopped.
pub async fn run<C: Crypto>(
    matter: &Matter<'_>,
    crypto: C,
    socket: &async_io::Async<UdpSocket>,
    iface: &MdnsInterface,
    host_name: &str,
) -> Result<(), Error> {
    let host = Host {
        hostname: host_name,
        ip: iface.ipv4.unwrap_or(Ipv4Addr::UNSPECIFIED),
        ipv6: &iface.ipv6,
    };
    BuiltinMdns::new()
        .run(
            socket,
            socket,
            &host,
            iface.ipv4,
            Some(iface.index),
            matter,
            crypto,
        )
        .await
        .inspect_err(|e| tracing::error!(error = ?e, "mDNS responder stopped"))
        .map_err(|_| Error::from(ErrorCode::MdnsError))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_interface_is_named() {
        let err = pick_interface(&["no-such-if0".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no-such-if0"), "{err}");
    }
}

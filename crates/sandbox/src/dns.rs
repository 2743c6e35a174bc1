//! The Sandbox's authoritative DNS server on 127.0.0.1 (UDP and TCP, one port).
//!
//! It answers from the same in-memory domain records the API's `/v2/domains/{d}/records`
//! endpoints change, read on every query, so an API update is visible in DNS at once. That is
//! what lets a DNS cutover — apply, verify against the nameservers, roll back — run offline.
//!
//! hickory-server does the wire format, UDP/TCP serving and truncation; we only supply a
//! [`RequestHandler`] that turns the Sandbox's records into answers (hickory's own in-memory
//! authority would need a copy of the zone kept in step with every API write).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::authority::MessageResponseBuilder;
use hickory_server::proto::op::{Header, MessageType, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CAA, CNAME, NS, SOA, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::ServerFuture;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::Shared;
use crate::state::DomainEntry;
use crate::SandboxError;

/// How many CNAME hops inside the zone an answer follows (loops stop here).
const MAX_CNAME_CHAIN: usize = 8;

/// What the server answers for one question.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub code: Option<ResponseCode>,
    pub answers: Vec<Record>,
    /// The SOA in the authority section of negative answers.
    pub soa: Vec<Record>,
}

fn lowered(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The record owner `short` ("@", "www") of `zone` as a fully qualified name.
fn fqdn(short: &str, zone: &str) -> String {
    if short == "@" || short.is_empty() {
        format!("{zone}.")
    } else if short.ends_with('.') {
        short.to_ascii_lowercase()
    } else {
        format!("{}.{zone}.", short.to_ascii_lowercase())
    }
}

/// The target of a CNAME/NS/MX record as stored by the API ("@", "host.example.com." or, as the
/// API's zone file treats it, "host.example.com" meaning the same).
fn target(data: &str, zone: &str) -> String {
    if data == "@" {
        format!("{zone}.")
    } else if data.ends_with('.') {
        data.to_ascii_lowercase()
    } else {
        format!("{}.", data.to_ascii_lowercase())
    }
}

/// A cheap serial that changes whenever the records do (FNV-1a over their JSON).
fn serial(zone: &DomainEntry) -> u32 {
    let text = serde_json::to_string(&zone.records).unwrap_or_default();
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

fn soa_record(zone: &DomainEntry) -> Option<Record> {
    let apex = Name::from_str(&format!("{}.", zone.name)).ok()?;
    let mname = Name::from_str("ns1.digitalocean.com.").ok()?;
    let rname = Name::from_str(&format!("hostmaster.{}.", zone.name)).ok()?;
    let soa = SOA::new(mname, rname, serial(zone), 10800, 3600, 604_800, zone.ttl);
    Some(Record::from_rdata(apex, zone.ttl, RData::SOA(soa)))
}

/// One stored record (API JSON) as a DNS record, if its type is one we serve.
fn to_record(r: &serde_json::Value, zone: &DomainEntry) -> Option<Record> {
    let kind = r["type"].as_str()?;
    let owner = fqdn(r["name"].as_str().unwrap_or("@"), &zone.name);
    let name = Name::from_str(&owner).ok()?;
    let ttl = r["ttl"]
        .as_u64()
        .and_then(|t| u32::try_from(t).ok())
        .unwrap_or(zone.ttl);
    let data = r["data"].as_str().unwrap_or_default();
    let rdata = match kind {
        "A" => RData::A(A(data.parse::<Ipv4Addr>().ok()?)),
        "AAAA" => RData::AAAA(AAAA(data.parse::<Ipv6Addr>().ok()?)),
        "CNAME" => RData::CNAME(CNAME(Name::from_str(&target(data, &zone.name)).ok()?)),
        "NS" => RData::NS(NS(Name::from_str(&target(data, &zone.name)).ok()?)),
        "TXT" => RData::TXT(TXT::new(vec![data.to_string()])),
        // issue and issuewild (what a certificate authority checks); iodef is not served.
        "CAA" => {
            let critical = r["flags"].as_u64().is_some_and(|f| f & 128 != 0);
            let issuer = if data == ";" {
                None
            } else {
                Some(Name::from_str(data).ok()?)
            };
            match r["tag"].as_str()? {
                "issue" => RData::CAA(CAA::new_issue(critical, issuer, Vec::new())),
                "issuewild" => RData::CAA(CAA::new_issuewild(critical, issuer, Vec::new())),
                _ => return None,
            }
        }
        "SOA" => return soa_record(zone),
        _ => return None,
    };
    Some(Record::from_rdata(name, ttl, rdata))
}

/// The answer of `zone` to `qname`/`qtype`: the matching records, a CNAME (followed inside the
/// zone) when the name has one, NODATA or NXDOMAIN with the SOA otherwise.
pub(crate) fn answer(zone: &DomainEntry, qname: &str, qtype: RecordType) -> Answer {
    let records: Vec<Record> = zone
        .records
        .iter()
        .filter_map(|r| to_record(r, zone))
        .collect();
    let at = |name: &str| -> Vec<&Record> {
        records
            .iter()
            .filter(|r| lowered(&r.name().to_ascii()) == name)
            .collect()
    };
    let mut out = Answer::default();
    let mut name = lowered(qname);
    for _ in 0..MAX_CNAME_CHAIN {
        let here = at(&name);
        if here.is_empty() {
            if out.answers.is_empty() {
                out.code = Some(ResponseCode::NXDomain);
                out.soa.extend(soa_record(zone));
            }
            return out;
        }
        let matching: Vec<Record> = here
            .iter()
            .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
            .map(|r| (*r).clone())
            .collect();
        if !matching.is_empty() {
            out.answers.extend(matching);
            return out;
        }
        let cname = here
            .iter()
            .find(|r| r.record_type() == RecordType::CNAME)
            .and_then(|r| match r.data() {
                RData::CNAME(c) => Some(((*r).clone(), c.0.to_ascii())),
                _ => None,
            });
        match cname {
            Some((record, next)) => {
                out.answers.push(record);
                let next = lowered(&next);
                let in_zone = next == zone.name || next.ends_with(&format!(".{}", zone.name));
                if !in_zone {
                    return out;
                }
                name = next;
            }
            None => {
                // The name exists, but not with this type: NODATA.
                out.soa.extend(soa_record(zone));
                return out;
            }
        }
    }
    out
}

/// The zone of `qname` among `domains`: the longest domain name it is equal to or under.
fn zone_for<'a>(domains: &'a [DomainEntry], qname: &str) -> Option<&'a DomainEntry> {
    let q = lowered(qname);
    domains
        .iter()
        .filter(|d| {
            let z = d.name.to_ascii_lowercase();
            q == z || q.ends_with(&format!(".{z}"))
        })
        .max_by_key(|d| d.name.len())
}

struct Handler {
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let mut header = Header::response_from_request(request.header());
        header.set_message_type(MessageType::Response);
        header.set_recursion_available(false);
        let builder = MessageResponseBuilder::from_message_request(request);
        let query = match request.request_info() {
            Ok(info) if request.op_code() == OpCode::Query => Some(info.query.original().clone()),
            _ => None,
        };
        let Some(query) = query else {
            header.set_response_code(ResponseCode::NotImp);
            let sent = response
                .send_response(builder.build_no_records(header))
                .await;
            return sent.unwrap_or_else(|_| header.into());
        };
        let qname = query.name().to_ascii();
        let zone = {
            let st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            zone_for(&st.domains, &qname).cloned()
        };
        let Some(zone) = zone else {
            // Not ours: an authoritative-only server refuses.
            header.set_response_code(ResponseCode::Refused);
            let sent = response
                .send_response(builder.build_no_records(header))
                .await;
            return sent.unwrap_or_else(|_| header.into());
        };
        let found = answer(&zone, &qname, query.query_type());
        header.set_authoritative(true);
        header.set_response_code(found.code.unwrap_or(ResponseCode::NoError));
        let message = builder.build(
            header,
            found.answers.iter(),
            std::iter::empty(),
            found.soa.iter(),
            std::iter::empty(),
        );
        match response.send_response(message).await {
            Ok(info) => info,
            Err(err) => {
                tracing::warn!("sandbox DNS could not answer: {err}");
                let mut failed = header;
                failed.set_response_code(ResponseCode::ServFail);
                failed.into()
            }
        }
    }
}

/// Binds UDP on 127.0.0.1 (a free port) and TCP on the same port, serves until `shutdown`, and
/// returns the address.
pub(crate) async fn start(
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) -> Result<SocketAddr, SandboxError> {
    let (udp, tcp) = bind_udp_and_tcp().await?;
    let addr = udp.local_addr().map_err(SandboxError::Io)?;
    let mut server = ServerFuture::new(Handler { shared });
    server.register_socket(udp);
    match tcp {
        Ok(tcp) => server.register_listener(tcp, Duration::from_secs(5)),
        Err(err) => tracing::warn!("sandbox DNS serves UDP only: TCP {addr}: {err}"),
    }
    tasks.spawn(async move {
        shutdown.cancelled().await;
        if let Err(err) = server.shutdown_gracefully().await {
            tracing::warn!("sandbox DNS server stopped: {err}");
        }
    });
    tracing::info!(dns = %addr, "sandbox DNS started");
    Ok(addr)
}

/// How many free UDP ports to try before settling for UDP alone.
const TCP_PORT_ATTEMPTS: usize = 16;

/// A free UDP port and a TCP listener on the same port number. The system picks the UDP port
/// without looking at TCP, where the number may be in use (another program's connection uses
/// it as its local port): then another UDP port is tried. Only when every attempt collides does
/// the Sandbox serve UDP alone — still everything it holds, as its answers are small.
async fn bind_udp_and_tcp() -> Result<
    (
        tokio::net::UdpSocket,
        std::io::Result<tokio::net::TcpListener>,
    ),
    SandboxError,
> {
    let want = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut attempt = 1;
    loop {
        let udp = tokio::net::UdpSocket::bind(want)
            .await
            .map_err(|source| SandboxError::Bind { addr: want, source })?;
        let addr = udp.local_addr().map_err(SandboxError::Io)?;
        match tcp_listener(addr) {
            Ok(tcp) => return Ok((udp, Ok(tcp))),
            Err(err) if attempt >= TCP_PORT_ATTEMPTS => return Ok((udp, Err(err))),
            Err(_) => attempt += 1,
        }
    }
}

/// A TCP listener whose accepted connections have TCP_NODELAY (Linux and macOS copy it from the
/// listening socket): hickory-server writes the length prefix and the message separately, and
/// with Nagle plus delayed ACKs each TCP answer would wait ~40 ms. SO_REUSEADDR, as every server
/// sets it: a connection of an earlier run lingering in TIME_WAIT on this port number must not
/// keep the listener out (what `TcpListener::bind` does for us, and `TcpSocket` does not).
fn tcp_listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // On Windows SO_REUSEADDR would allow stealing a port in use: off there, as in the balancer.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn zone() -> DomainEntry {
        let r = |id: u64, kind: &str, name: &str, data: &str, ttl: u32| json!({ "id": id, "type": kind, "name": name, "data": data, "ttl": ttl });
        DomainEntry {
            name: "example.test".to_string(),
            ttl: 1800,
            records: vec![
                r(1, "SOA", "@", "1800", 1800),
                r(2, "NS", "@", "ns1.digitalocean.com", 1800),
                r(3, "A", "@", "192.0.2.1", 300),
                r(4, "CNAME", "www", "@", 600),
                r(5, "AAAA", "v6", "2001:db8::1", 60),
                r(6, "CNAME", "ext", "elsewhere.example.org.", 60),
                r(7, "CNAME", "loop", "loop.example.test.", 60),
                json!({ "id": 8, "type": "CAA", "name": "@", "data": "letsencrypt.org", "flags": 0, "tag": "issue", "ttl": 3600 }),
                json!({ "id": 9, "type": "CAA", "name": "@", "data": "mailto:a@example.test", "flags": 0, "tag": "iodef", "ttl": 3600 }),
            ],
        }
    }

    fn ips(a: &Answer) -> Vec<String> {
        a.answers
            .iter()
            .filter_map(|r| match r.data() {
                RData::A(a) => Some(a.0.to_string()),
                RData::AAAA(a) => Some(a.0.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn apex_a_comes_with_its_ttl() {
        let a = answer(&zone(), "Example.Test.", RecordType::A);
        assert_eq!(a.code, None);
        assert_eq!(ips(&a), ["192.0.2.1"]);
        assert_eq!(a.answers[0].ttl(), 300);
    }

    #[test]
    fn a_cname_is_followed_inside_the_zone() {
        let a = answer(&zone(), "www.example.test.", RecordType::A);
        assert_eq!(a.answers.len(), 2);
        assert_eq!(a.answers[0].record_type(), RecordType::CNAME);
        assert_eq!(ips(&a), ["192.0.2.1"]);
        let direct = answer(&zone(), "www.example.test.", RecordType::CNAME);
        assert_eq!(direct.answers.len(), 1);
    }

    #[test]
    fn a_cname_out_of_the_zone_is_returned_alone() {
        let a = answer(&zone(), "ext.example.test.", RecordType::A);
        assert_eq!(a.answers.len(), 1);
        assert_eq!(a.answers[0].record_type(), RecordType::CNAME);
    }

    #[test]
    fn cname_loops_end() {
        let a = answer(&zone(), "loop.example.test.", RecordType::A);
        assert_eq!(a.answers.len(), MAX_CNAME_CHAIN);
    }

    #[test]
    fn missing_names_and_types_are_negative_with_the_soa() {
        let nx = answer(&zone(), "nope.example.test.", RecordType::A);
        assert_eq!(nx.code, Some(ResponseCode::NXDomain));
        assert_eq!(nx.soa.len(), 1);
        let nodata = answer(&zone(), "v6.example.test.", RecordType::A);
        assert_eq!(nodata.code, None);
        assert!(nodata.answers.is_empty());
        assert_eq!(nodata.soa.len(), 1);
        let v6 = answer(&zone(), "v6.example.test.", RecordType::AAAA);
        assert_eq!(ips(&v6), ["2001:db8::1"]);
    }

    #[test]
    fn caa_issue_is_served_and_iodef_is_not() {
        let caa = answer(&zone(), "example.test.", RecordType::CAA);
        assert_eq!(caa.answers.len(), 1, "{:?}", caa.answers);
        match caa.answers[0].data() {
            RData::CAA(c) => {
                assert!(c.tag().is_issue());
                let (name, _) = c.value_as_issue().unwrap();
                assert_eq!(name.unwrap().to_ascii(), "letsencrypt.org");
            }
            other => panic!("not a CAA: {other:?}"),
        }
    }

    #[test]
    fn ns_and_soa_are_served() {
        let ns = answer(&zone(), "example.test.", RecordType::NS);
        assert_eq!(ns.answers.len(), 1);
        let soa = answer(&zone(), "example.test.", RecordType::SOA);
        assert_eq!(soa.answers.len(), 1);
        assert_eq!(soa.answers[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn the_serial_follows_the_records() {
        let before = serial(&zone());
        let mut z = zone();
        z.records[2]["data"] = json!("192.0.2.2");
        assert_ne!(before, serial(&z));
    }

    #[test]
    fn zones_are_matched_by_suffix_not_substring() {
        let domains = vec![zone()];
        assert!(zone_for(&domains, "a.b.example.test.").is_some());
        assert!(zone_for(&domains, "notexample.test.").is_none());
        assert!(zone_for(&domains, "example.org.").is_none());
    }
}

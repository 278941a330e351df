//! Where a workload's calls came from, for the opt-in network perimeter (`--condition-network`,
//! #25): the VPC endpoints (`vpcEndpointId`) and source addresses (`sourceIPAddress`) of every
//! call, kept as small capped sets, so memory stays bounded per session and per workload.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// At most this many distinct VPC endpoints, and addresses, are kept; past it, no condition.
pub const MAX_ENDPOINTS: usize = 8;
pub const MAX_ADDRESSES: usize = 16;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub endpoints: BTreeSet<Box<str>>,
    /// Source addresses of calls not made through a VPC endpoint.
    pub addresses: BTreeSet<Box<str>>,
    pub through_endpoint: u64,
    /// Calls from an IP address, not through a VPC endpoint.
    pub direct: u64,
    /// Calls whose source is an AWS service's name, or missing.
    pub other: u64,
    /// Calls from a private address without a VPC endpoint (a pod's or node's own address, which
    /// changes with every pod and node).
    pub private: u64,
    /// More distinct endpoints or addresses than kept.
    pub overflow: bool,
    /// Some of the activity came from where this is not recorded (the usage store).
    pub unknown: bool,
}

/// The condition a workload's statements can carry: (operator, key, values).
pub type NetworkCondition = (&'static str, &'static str, Vec<String>);

impl Network {
    /// Where no call is recorded: the usage store keeps no network facts.
    pub fn unknown() -> Network {
        Network {
            unknown: true,
            ..Network::default()
        }
    }

    /// One call, from `endpoint` (`vpcEndpointId`) or `source` (`sourceIPAddress`).
    pub fn record(&mut self, endpoint: Option<&str>, source: Option<&str>) {
        if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
            self.through_endpoint += 1;
            if !self.endpoints.contains(endpoint) {
                if self.endpoints.len() < MAX_ENDPOINTS {
                    self.endpoints.insert(endpoint.into());
                } else {
                    self.overflow = true;
                }
            }
            return;
        }
        match source {
            Some(address) if self.addresses.contains(address) => self.direct += 1,
            Some(address) if address.parse::<IpAddr>().is_ok_and(private) => {
                self.direct += 1;
                self.private += 1;
            }
            Some(address) if address.parse::<IpAddr>().is_ok() => {
                self.direct += 1;
                if self.addresses.len() < MAX_ADDRESSES {
                    self.addresses.insert(address.into());
                } else {
                    self.overflow = true;
                }
            }
            _ => self.other += 1,
        }
    }

    pub fn merge(&mut self, other: &Network) {
        for endpoint in &other.endpoints {
            if self.endpoints.len() < MAX_ENDPOINTS || self.endpoints.contains(endpoint) {
                self.endpoints.insert(endpoint.clone());
            } else {
                self.overflow = true;
            }
        }
        for address in &other.addresses {
            if self.addresses.len() < MAX_ADDRESSES || self.addresses.contains(address) {
                self.addresses.insert(address.clone());
            } else {
                self.overflow = true;
            }
        }
        self.through_endpoint += other.through_endpoint;
        self.direct += other.direct;
        self.other += other.other;
        self.private += other.private;
        self.overflow |= other.overflow;
        self.unknown |= other.unknown;
    }

    /// `aws:SourceVpce` when every call came through the VPC endpoints seen, `aws:SourceIp` when
    /// every call came from the addresses seen and none through an endpoint (a call through an
    /// endpoint carries a private address, which an `aws:SourceIp` of public ones would deny);
    /// otherwise why neither is safe.
    pub fn condition(&self) -> Result<NetworkCondition, String> {
        if self.unknown {
            return Err(
                "part of the window was read from the usage store, which does not keep where \
                 calls came from"
                    .to_owned(),
            );
        }
        if self.overflow {
            return Err(format!(
                "calls came from more than {MAX_ENDPOINTS} VPC endpoints or {MAX_ADDRESSES} \
                 addresses"
            ));
        }
        if self.private > 0 {
            return Err(format!(
                "{} call(s) came from private addresses and not through a VPC endpoint: pod and \
                 node addresses change, so only NAT gateway or VPC endpoint paths can be pinned",
                self.private
            ));
        }
        if self.other > 0 {
            return Err(format!(
                "{} call(s) came from an AWS service or without a source address",
                self.other
            ));
        }
        match (self.through_endpoint, self.direct) {
            (0, 0) => Err("no calls".to_owned()),
            (_, 0) => Ok((
                "StringEquals",
                "aws:SourceVpce",
                self.endpoints.iter().map(|e| e.to_string()).collect(),
            )),
            (0, _) => Ok((
                "IpAddress",
                "aws:SourceIp",
                self.addresses
                    .iter()
                    .map(|a| match a.parse::<IpAddr>() {
                        Ok(IpAddr::V6(_)) => format!("{a}/128"),
                        _ => format!("{a}/32"),
                    })
                    .collect(),
            )),
            (through, direct) => Err(format!(
                "{through} call(s) came through VPC endpoints and {direct} did not"
            )),
        }
    }
}

/// RFC 1918, carrier-grade NAT, loopback, link-local and IPv6 unique-local addresses.
fn private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_only_when_every_call_agrees() {
        let mut vpce = Network::default();
        vpce.record(Some("vpce-0a1b2c3d"), Some("10.0.4.17"));
        vpce.record(Some("vpce-0a1b2c3d"), Some("10.0.4.18"));
        assert_eq!(
            vpce.condition(),
            Ok((
                "StringEquals",
                "aws:SourceVpce",
                vec!["vpce-0a1b2c3d".to_owned()]
            ))
        );
        let mut nat = Network::default();
        nat.record(None, Some("203.0.113.7"));
        nat.record(None, Some("2001:db8::1"));
        assert_eq!(
            nat.condition(),
            Ok((
                "IpAddress",
                "aws:SourceIp",
                vec!["2001:db8::1/128".to_owned(), "203.0.113.7/32".to_owned()]
            ))
        );
        let mut mixed = vpce.clone();
        mixed.merge(&nat);
        assert!(
            mixed
                .condition()
                .unwrap_err()
                .contains("2 call(s) came through VPC endpoints and 2 did not")
        );
        let mut pods = Network::default();
        pods.record(None, Some("10.0.4.17"));
        assert!(pods.condition().unwrap_err().contains("private addresses"));
        let mut service = Network::default();
        service.record(None, Some("cloudformation.amazonaws.com"));
        assert!(service.condition().is_err());
        let mut many = Network::default();
        for i in 0..=MAX_ADDRESSES {
            many.record(None, Some(&format!("198.51.100.{i}")));
        }
        assert!(many.condition().unwrap_err().contains("more than"));
        let mut stored = nat.clone();
        stored.merge(&Network::unknown());
        assert!(stored.condition().is_err());
    }
}

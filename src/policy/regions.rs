//! AWS regions as bits, so a usage row can say where its calls were made in eight bytes
//! (`aws:RequestedRegion` conditions). Regions not in the list share the `OTHER` bit, which makes
//! a region condition impossible to state exactly, so none is emitted for that usage.

const REGIONS: [&str; 40] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
    "eusc-de-east-1",
    "ap-southeast-8",
];

/// Regions iamtrim does not know.
pub const OTHER: u64 = 1 << 63;

/// The bit of a region (`OTHER` for an unknown or missing one).
pub fn bit(region: &str) -> u64 {
    // Once per event: one hash, not a comparison with each name in turn.
    static BITS: std::sync::LazyLock<foldhash::HashMap<&str, u64>> =
        std::sync::LazyLock::new(|| {
            REGIONS
                .iter()
                .enumerate()
                .map(|(i, region)| (*region, 1 << i))
                .collect()
        });
    BITS.get(region).copied().unwrap_or(OTHER)
}

/// The known regions in a mask, in list order (sorted by name).
pub fn names(mask: u64) -> Vec<&'static str> {
    let mut out: Vec<&str> = REGIONS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, r)| *r)
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_round_trip() {
        let mask = bit("us-west-2") | bit("eu-west-1");
        assert_eq!(names(mask), ["eu-west-1", "us-west-2"]);
        assert_eq!(bit("us-north-2r"), OTHER);
        assert_eq!(names(OTHER), Vec::<&str>::new());
    }
}

//! The `data/*.tsv` tables the mapping is read from.

/// The rows of one of the `data/*.tsv` tables: `#` lines are comments, fields are tab-separated,
/// and a missing field reads as empty.
pub(crate) fn rows(table: &'static str) -> impl Iterator<Item = [&'static str; 7]> {
    table
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut fields = [""; 7];
            for (slot, field) in fields.iter_mut().zip(line.split('\t')) {
                *slot = field;
            }
            fields
        })
}

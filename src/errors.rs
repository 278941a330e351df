//! Error text: one line with every cause, for warnings and problem lists.

/// `error: cause: cause`, the way a person reads an error chain on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        // Some errors (the AWS SDK's among them) repeat their cause in their own message.
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A file or folder that could not be read, written or moved: what was tried, and where.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct FileError {
    pub action: &'static str,
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// For `map_err`: `std::fs::read(p).map_err(FileError::at("read", p))?`.
    pub fn at(
        action: &'static str,
        path: impl Into<std::path::PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.into();
        move |source| FileError {
            action,
            path,
            source,
        }
    }
}

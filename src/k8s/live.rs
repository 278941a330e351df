//! The cluster's view read live (`--kube-context [CLUSTER=]CONTEXT`): ServiceAccounts, Pods,
//! ReplicaSets and Jobs of every namespace, through kube-rs with the user's kubeconfig (its
//! credentials, exec plugins such as `aws eks get-token`, and certificates), into the same
//! inventory a saved `kubectl get ... -o json` gives.

use serde_json::Value;

use super::{ClusterInventory, read_items};

/// What is listed: (kind, path). ServiceAccounts and Pods are needed; ReplicaSets and Jobs only
/// resolve owner chains (without them a ReplicaSet is read from its `pod-template-hash`).
const RESOURCES: [(&str, &str, bool); 4] = [
    ("ServiceAccount", "/api/v1/serviceaccounts", true),
    ("Pod", "/api/v1/pods", true),
    ("ReplicaSet", "/apis/apps/v1/replicasets", false),
    ("Job", "/apis/batch/v1/jobs", false),
];

/// Items per page (`limit`; `continue` pages through the rest).
const PAGE: usize = 500;

/// What a query value must escape: everything but RFC 3986's unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("kubeconfig context {context:?}")]
    Config {
        context: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot make a Kubernetes client for context {context:?}")]
    Client {
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot list {what} in context {context:?}")]
    List {
        context: String,
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("the answer to {what} in context {context:?} is not a Kubernetes list")]
    NotAList { context: String, what: String },
}

/// Reads the inventory of `context`; warnings name what could not be listed but was not needed.
pub fn read_context(
    context: &str,
    cluster: Option<&str>,
) -> Result<(ClusterInventory, Vec<String>), LiveError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(read(context, cluster))
}

async fn read(
    context: &str,
    cluster: Option<&str>,
) -> Result<(ClusterInventory, Vec<String>), LiveError> {
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_owned()),
        ..Default::default()
    };
    let config = kube::Config::from_kubeconfig(&options)
        .await
        .map_err(|source| LiveError::Config {
            context: context.to_owned(),
            source,
        })?;
    let client = kube::Client::try_from(config).map_err(|source| LiveError::Client {
        context: context.to_owned(),
        source,
    })?;
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for (kind, path, needed) in RESOURCES {
        match list(&client, path).await {
            Ok(Some(listed)) => items.extend(listed.into_iter().map(|mut item| {
                if let Some(object) = item.as_object_mut() {
                    object.insert("kind".to_owned(), Value::from(kind));
                }
                item
            })),
            Ok(None) => {
                return Err(LiveError::NotAList {
                    context: context.to_owned(),
                    what: path.to_owned(),
                });
            }
            Err(source) if needed => {
                return Err(LiveError::List {
                    context: context.to_owned(),
                    what: path.to_owned(),
                    source,
                });
            }
            Err(error) => warnings.push(format!(
                "kube context {context:?}: cannot list {path} ({error}); owners are read from pod-template-hash labels instead"
            )),
        }
    }
    let mut inventory = read_items(&items);
    inventory.cluster = cluster.map(str::to_owned);
    inventory.source = match cluster {
        Some(cluster) => format!("{cluster}=kube context {context}"),
        None => format!("kube context {context}"),
    };
    Ok((inventory, warnings))
}

/// Every item of a list, page by page; None when the answer is not a list.
async fn list(client: &kube::Client, path: &str) -> Result<Option<Vec<Value>>, kube::Error> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut uri = format!("{path}?limit={PAGE}");
        if let Some(token) = &token {
            uri.push_str("&continue=");
            uri.extend(percent_encoding::utf8_percent_encode(token, QUERY_VALUE));
        }
        let request = http::Request::get(uri)
            .body(Vec::new())
            .map_err(kube::Error::HttpError)?;
        let text = client.request_text(request).await?;
        let page: Value = match serde_json::from_str(&text) {
            Ok(page) => page,
            Err(_) => return Ok(None),
        };
        let Some(listed) = page.get("items").and_then(Value::as_array) else {
            return Ok(None);
        };
        items.extend(listed.iter().cloned());
        token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            return Ok(Some(items));
        }
    }
}

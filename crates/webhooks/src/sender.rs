//! One HTTP attempt of a delivery: the SSRF check after DNS resolution (connecting to exactly
//! the vetted addresses), the signatures, the OAuth2 bearer token (client-credentials grant
//! through the `oauth2` crate, cached until it expires, refreshed once on a 401), and the
//! reading of the answer (`Retry-After`, `410 Gone`).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use loket_common::crypto::SecretKey;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;
use tokio::sync::Mutex as AsyncMutex;

use crate::config::WebhooksConfig;
use crate::model::{PROTOCOL_OAUTH2, PROTOCOL_WEBSUB, client_secret_context, secret_context};
use crate::signing;
use crate::ssrf::Guard;

/// What the sender needs of a receiver (a snapshot taken when the delivery was claimed).
#[derive(Debug, Clone)]
pub struct Target {
    pub receiver_id: String,
    pub url: String,
    pub protocol: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub oauth_token_url: Option<String>,
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<String>,
    pub oauth_scope: Option<String>,
    /// Changes whenever the receiver does; keys the token cache.
    pub version: String,
}

/// What came of one attempt.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// `Retry-After`, as an absolute time.
    pub retry_after: Option<DateTime<Utc>>,
    /// How long it took.
    pub duration: Duration,
}

impl Answer {
    /// Whether the receiver took the delivery (2xx).
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: String,
    version: String,
    until: Instant,
}

/// An error of the HTTP client the `oauth2` crate runs on.
#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// Most bytes of an answer read (the rest is dropped).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// How long a client pinned to resolved addresses is reused.
const PINNED_TTL: Duration = Duration::from_secs(60);

type Tokens = Arc<AsyncMutex<Option<CachedToken>>>;
/// A host and the vetted addresses a client is pinned to.
type PinKey = (String, Vec<SocketAddr>);

/// Sends deliveries; shared by all send tasks.
pub struct Sender(Arc<SenderInner>);

struct SenderInner {
    guard: Guard,
    builder: Arc<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>,
    /// For address literals (checked without resolution).
    direct: reqwest::Client,
    /// Per host and vetted address set.
    pinned: Mutex<HashMap<PinKey, (reqwest::Client, Instant)>>,
    tokens: Mutex<HashMap<String, Tokens>>,
}

impl Sender {
    /// A sender with the configured timeout and user agent; redirects are not followed and
    /// proxies are not used (a proxy would resolve names past the SSRF guard).
    pub fn new(config: &WebhooksConfig, guard: Guard) -> Result<Self, String> {
        let timeout = config.timeout;
        let agent = format!("Loket-Webhooks/{}", config.version);
        let builder = Arc::new(move || {
            reqwest::Client::builder()
                .redirect(Policy::none())
                .no_proxy()
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent(agent.clone())
                .tcp_nodelay(true)
                .pool_idle_timeout(Duration::from_secs(30))
        });
        let direct = builder()
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Sender(Arc::new(SenderInner {
            guard,
            builder,
            direct,
            pinned: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })))
    }
}

impl SenderInner {
    /// A client that may connect to `url`'s host: checked against the guard, resolved, and
    /// pinned to the vetted addresses.
    async fn client_for(&self, url: &str) -> Result<(reqwest::Client, reqwest::Url), String> {
        let checked = self
            .guard
            .check(url)
            .map_err(|reason| format!("URL refused: {reason}"))?;
        let target = checked.url().clone();
        let Some(addrs) = self.guard.resolve(&checked).await? else {
            return Ok((self.direct.clone(), target));
        };
        let host = target.host_str().unwrap_or_default().to_owned();
        let key = (host.clone(), addrs.clone());
        let now = Instant::now();
        if let Ok(mut map) = self.pinned.lock() {
            map.retain(|_, (_, at)| now.duration_since(*at) < PINNED_TTL);
            if let Some((c, _)) = map.get(&key) {
                return Ok((c.clone(), target));
            }
        }
        let client = (self.builder)()
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        if let Ok(mut map) = self.pinned.lock() {
            map.insert(key, (client.clone(), now));
        }
        Ok((client, target))
    }

    /// The HTTP client the `oauth2` crate uses: the same SSRF rules as deliveries.
    async fn oauth_http(
        &self,
        req: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, HttpError> {
        let (client, url) = self
            .client_for(&req.uri().to_string())
            .await
            .map_err(HttpError)?;
        let (parts, body) = req.into_parts();
        let res = client
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpError(describe(&e)))?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = read_limited(res).await;
        let mut out = oauth2::http::Response::builder().status(status);
        if let Some(h) = out.headers_mut() {
            *h = headers;
        }
        out.body(body).map_err(|e| HttpError(e.to_string()))
    }
}

impl Sender {
    fn token_slot(&self, receiver_id: &str) -> Tokens {
        match self.0.tokens.lock() {
            Ok(mut map) => map.entry(receiver_id.to_owned()).or_default().clone(),
            Err(_) => Tokens::default(),
        }
    }

    /// A bearer token for an OAuth2 receiver: the cached one, or a fresh one when it expired,
    /// the receiver changed, or `stale` (just refused by the receiver) is the cached one.
    async fn token(
        &self,
        key: &SecretKey,
        target: &Target,
        stale: Option<&str>,
    ) -> Result<String, String> {
        let slot = self.token_slot(&target.receiver_id);
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref()
            && t.version == target.version
            && t.until > Instant::now()
            && stale != Some(t.token.as_str())
        {
            return Ok(t.token.clone());
        }
        *cached = None;
        let token_url = target
            .oauth_token_url
            .clone()
            .ok_or("the receiver has no token URL")?;
        let client_secret = match &target.oauth_client_secret {
            Some(sealed) => String::from_utf8(
                key.open(sealed, &client_secret_context(&target.receiver_id))
                    .map_err(|e| e.detail)?,
            )
            .map_err(|_| "the stored client secret is not text")?,
            None => String::new(),
        };
        let client = BasicClient::new(ClientId::new(
            target.oauth_client_id.clone().unwrap_or_default(),
        ))
        .set_client_secret(ClientSecret::new(client_secret))
        .set_token_uri(TokenUrl::new(token_url).map_err(|e| format!("bad token URL: {e}"))?);
        let http = GuardedHttp(self.0.clone());
        let started = Instant::now();
        let response = client
            .exchange_client_credentials()
            .add_scopes(
                target
                    .oauth_scope
                    .as_deref()
                    .unwrap_or_default()
                    .split_ascii_whitespace()
                    .map(|s| Scope::new(s.to_owned())),
            )
            .request_async(&http)
            .await
            .map_err(|e| format!("token request failed: {}", oauth_error(&e)))?;
        let token = response.access_token().secret().clone();
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(300));
        // Renew a little early: a fifth of the lifetime, at most 30 s.
        let margin = (lifetime / 5).min(Duration::from_secs(30));
        *cached = Some(CachedToken {
            token: token.clone(),
            version: target.version.clone(),
            until: started + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    /// Sends `body` once (twice for an OAuth2 receiver answering 401 to a cached token).
    pub async fn send(
        &self,
        key: &SecretKey,
        target: &Target,
        delivery_id: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Answer {
        let started = Instant::now();
        let mut answer = self.try_send(key, target, delivery_id, body, now).await;
        answer.duration = started.elapsed();
        answer
    }

    async fn try_send(
        &self,
        key: &SecretKey,
        target: &Target,
        delivery_id: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Answer {
        let fail = |error: String| Answer {
            status: None,
            error: Some(error),
            retry_after: None,
            duration: Duration::ZERO,
        };
        let headers = match self.signed_headers(key, target, delivery_id, body, now) {
            Ok(h) => h,
            Err(e) => return fail(e),
        };
        let (client, url) = match self.0.client_for(&target.url).await {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let oauth = target.protocol == PROTOCOL_OAUTH2;
        let mut stale: Option<String> = None;
        loop {
            let mut req = client
                .post(url.clone())
                .headers(headers.clone())
                .body(body.to_owned());
            if oauth {
                match self.token(key, target, stale.as_deref()).await {
                    Ok(t) => {
                        req = req.bearer_auth(&t);
                        if stale.is_none() {
                            stale = Some(t);
                        } else {
                            stale = None;
                        }
                    }
                    Err(e) => return fail(e),
                }
            }
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) => return fail(describe(&e)),
            };
            let status = res.status().as_u16();
            if oauth && status == 401 && stale.is_some() {
                // The cached token was refused: fetch a new one and try once more.
                drop(read_limited(res).await);
                continue;
            }
            let retry_after = res
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now));
            drop(read_limited(res).await);
            let error = match status {
                200..=299 => None,
                300..=399 => Some(format!("HTTP {status}: redirects are not followed")),
                410 => Some("HTTP 410 Gone: the receiver is disabled".to_owned()),
                _ => Some(format!("HTTP {status}")),
            };
            return Answer {
                status: Some(status),
                error,
                retry_after,
                duration: Duration::ZERO,
            };
        }
    }

    fn signed_headers(
        &self,
        key: &SecretKey,
        target: &Target,
        delivery_id: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<HeaderMap, String> {
        let context = secret_context(&target.receiver_id);
        let open = |sealed: &str| -> Result<String, String> {
            String::from_utf8(key.open(sealed, &context).map_err(|e| e.detail)?)
                .map_err(|_| "the stored secret is not text".to_owned())
        };
        let secret = open(&target.secret)?;
        let previous = match (&target.previous_secret, target.previous_secret_expires_at) {
            (Some(p), Some(until)) if until > now => Some(open(p)?),
            _ => None,
        };
        let mut secrets = vec![secret.as_str()];
        if let Some(p) = &previous {
            secrets.push(p.as_str());
        }
        let timestamp = now.timestamp();
        let value = |s: String| HeaderValue::from_str(&s).map_err(|e| e.to_string());
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("webhook-id", value(delivery_id.to_owned())?);
        h.insert("webhook-timestamp", value(timestamp.to_string())?);
        h.insert(
            "webhook-signature",
            value(signing::standard_header(
                &secrets,
                delivery_id,
                timestamp,
                body,
            ))?,
        );
        if target.protocol == PROTOCOL_WEBSUB {
            h.insert(
                "x-hub-signature",
                value(signing::websub_header(&secret, body))?,
            );
        }
        Ok(h)
    }
}

/// The `oauth2` crate's HTTP client: requests go through the same guard as deliveries.
struct GuardedHttp(Arc<SenderInner>);

impl<'c> oauth2::AsyncHttpClient<'c> for GuardedHttp {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'static>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move { inner.oauth_http(request).await })
    }
}

/// Reads at most [`MAX_ANSWER_BYTES`] of an answer (so the connection can be reused).
async fn read_limited(mut res: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_ANSWER_BYTES {
            break;
        }
    }
    out
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        let mut msg = "connection failed".to_owned();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg = format!("connection failed: {s}");
            src = s.source();
        }
        msg
    } else {
        e.to_string()
    }
}

fn oauth_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    e: &oauth2::RequestTokenError<RE, T>,
) -> String {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => format!("the token endpoint refused: {r}"),
        oauth2::RequestTokenError::Request(r) => r.to_string(),
        oauth2::RequestTokenError::Parse(p, _) => format!("unreadable token response: {p}"),
        oauth2::RequestTokenError::Other(o) => o.clone(),
    }
}

/// `Retry-After`: delay seconds or an HTTP date, as an absolute time.
pub fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u32>() {
        return Some(now + chrono::Duration::seconds(i64::from(secs)));
    }
    httpdate::parse_http_date(v).ok().map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now).unwrap(),
            now + chrono::Duration::seconds(120)
        );
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 12:00:00 GMT", now).unwrap(),
            now + chrono::Duration::hours(2)
        );
        assert!(parse_retry_after("soon", now).is_none());
    }
}

//! Server-signed URLs: the "presigned" URLs of stores that have no URL signing of their own (the
//! in-memory and filesystem stores). A URL names one operation on one key, binds the digests a PUT
//! must match, expires, and carries an HMAC-SHA256 over all of it. The server stays stateless:
//! anything it needs to serve the request is in the URL.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};

use crate::keys::ObjectKey;
use crate::ports::BlobError;
use crate::types::{Md5, Sha256};

type HmacSha256 = Hmac<sha2::Sha256>;

/// What a signed URL allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedOp {
    /// Upload exactly these bytes to `key`.
    Put {
        key: ObjectKey,
        sha256: Sha256,
        md5: Md5,
        size: u64,
    },
    /// Upload one part of a multipart upload.
    PutPart {
        key: ObjectKey,
        upload_id: String,
        part_number: u32,
    },
    /// Read `key`, served with `filename` as the download name.
    Get {
        key: ObjectKey,
        filename: Option<String>,
    },
}

/// Signs and verifies URLs under `{base_url}/blobs/signed`.
#[derive(Clone)]
pub struct UrlSigner {
    secret: Vec<u8>,
    base_url: String,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The path, below the base URL, that serves signed URLs.
pub const SIGNED_PATH: &str = "/blobs/signed";

impl UrlSigner {
    pub fn new(secret: impl Into<Vec<u8>>, base_url: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// A full URL allowing `op` until `expires_at`.
    pub fn sign(&self, op: &SignedOp, expires_at: DateTime<Utc>) -> String {
        let unsigned = canonical(op, expires_at.timestamp());
        let sig = hex::encode(self.mac(&unsigned).finalize().into_bytes());
        format!("{}{SIGNED_PATH}?{unsigned}&sig={sig}", self.base_url)
    }

    /// Checks the query string (or a whole URL) of a signed URL and returns what it allows.
    pub fn verify(
        &self,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<(SignedOp, DateTime<Utc>), BlobError> {
        let query = url.split_once('?').map_or(url, |(_, q)| q);
        let params: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Ok((k.to_owned(), percent_decode(v)?))
            })
            .collect::<Result<_, BlobError>>()?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| BlobError::InvalidInput(format!("signed URL lacks {name}")))
        };
        let bad = |what: &str| BlobError::InvalidInput(format!("signed URL has a bad {what}"));
        let key = ObjectKey::parse(get("key")?).map_err(|_| bad("key"))?;
        let op = match get("op")? {
            "put" => SignedOp::Put {
                key,
                sha256: Sha256::parse(get("sha256")?).map_err(|_| bad("sha256"))?,
                md5: Md5::parse(get("md5")?).map_err(|_| bad("md5"))?,
                size: get("size")?.parse().map_err(|_| bad("size"))?,
            },
            "part" => SignedOp::PutPart {
                key,
                upload_id: get("upload")?.to_owned(),
                part_number: get("part")?.parse().map_err(|_| bad("part"))?,
            },
            "get" => SignedOp::Get {
                key,
                filename: params
                    .iter()
                    .find(|(k, _)| k == "filename")
                    .map(|(_, v)| v.clone()),
            },
            _ => return Err(bad("op")),
        };
        let exp: i64 = get("exp")?.parse().map_err(|_| bad("exp"))?;
        let sig = hex::decode(get("sig")?).map_err(|_| bad("sig"))?;
        self.mac(&canonical(&op, exp))
            .verify_slice(&sig)
            .map_err(|_| {
                BlobError::PreconditionFailed("signed URL signature does not match".into())
            })?;
        let expires_at = Utc
            .timestamp_opt(exp, 0)
            .single()
            .ok_or_else(|| bad("exp"))?;
        if now > expires_at {
            return Err(BlobError::PreconditionFailed(format!(
                "signed URL expired at {expires_at}"
            )));
        }
        Ok((op, expires_at))
    }

    /// The request a client makes for `op`, valid for `expires_in`: a PUT lists the size and
    /// digest headers it is bound to, as an S3 presigned PUT does.
    pub fn presigned_request(
        &self,
        op: &SignedOp,
        expires_in: std::time::Duration,
    ) -> crate::ports::PresignedRequest {
        let expires_at = Utc::now()
            + chrono::Duration::from_std(expires_in).unwrap_or(chrono::Duration::hours(1));
        let mut headers = std::collections::BTreeMap::new();
        if let SignedOp::Put {
            sha256, md5, size, ..
        } = op
        {
            headers.insert("content-length".into(), size.to_string());
            headers.insert("content-md5".into(), md5.to_base64());
            headers.insert("x-amz-checksum-sha256".into(), sha256.to_base64());
        }
        let method = match op {
            SignedOp::Get { .. } => "GET",
            SignedOp::Put { .. } | SignedOp::PutPart { .. } => "PUT",
        };
        crate::ports::PresignedRequest {
            method: method.into(),
            url: self.sign(op, expires_at),
            headers,
            expires_at,
        }
    }

    fn mac(&self, data: &str) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(data.as_bytes());
        mac
    }
}

fn canonical(op: &SignedOp, exp: i64) -> String {
    let e = percent_encode;
    match op {
        SignedOp::Put {
            key,
            sha256,
            md5,
            size,
        } => format!(
            "op=put&key={}&sha256={sha256}&md5={md5}&size={size}&exp={exp}",
            e(key.as_str())
        ),
        SignedOp::PutPart {
            key,
            upload_id,
            part_number,
        } => format!(
            "op=part&key={}&upload={}&part={part_number}&exp={exp}",
            e(key.as_str()),
            e(upload_id)
        ),
        SignedOp::Get { key, filename } => match filename {
            Some(f) => format!("op=get&key={}&filename={}&exp={exp}", e(key.as_str()), e(f)),
            None => format!("op=get&key={}&exp={exp}", e(key.as_str())),
        },
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space); fails on a bad escape or non-UTF-8 result.
pub fn percent_decode(s: &str) -> Result<String, BlobError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| BlobError::InvalidInput("bad percent escape in URL".into()))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| BlobError::InvalidInput("URL is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn op() -> SignedOp {
        SignedOp::Put {
            key: ObjectKey::parse("projects/p/blobs/sha256/ab/cd/x=y+z%").expect("key"),
            sha256: Sha256::of(b"x"),
            md5: Md5::of(b"x"),
            size: 1,
        }
    }

    #[test]
    fn signed_urls_round_trip() {
        let s = UrlSigner::new(b"secret".to_vec(), "http://localhost:8080/");
        let exp = Utc::now() + Duration::minutes(5);
        let url = s.sign(&op(), exp);
        assert!(url.starts_with("http://localhost:8080/blobs/signed?op=put&key=projects%2Fp"));
        let (got, at) = s.verify(&url, Utc::now()).expect("valid");
        assert_eq!(got, op());
        assert_eq!(at.timestamp(), exp.timestamp());
        let get = SignedOp::Get {
            key: ObjectKey::parse("a/b").expect("k"),
            filename: Some("my file.bin".into()),
        };
        assert_eq!(
            s.verify(&s.sign(&get, exp), Utc::now()).expect("valid").0,
            get
        );
    }

    #[test]
    fn tampered_expired_or_foreign_urls_fail() {
        let s = UrlSigner::new(b"secret".to_vec(), "http://h");
        let url = s.sign(&op(), Utc::now() + Duration::minutes(5));
        let tampered = url.replace("size=1", "size=2");
        assert!(matches!(
            s.verify(&tampered, Utc::now()),
            Err(BlobError::PreconditionFailed(_))
        ));
        let later = Utc::now() + Duration::minutes(10);
        assert!(matches!(
            s.verify(&url, later),
            Err(BlobError::PreconditionFailed(_))
        ));
        let other = UrlSigner::new(b"other".to_vec(), "http://h");
        assert!(other.verify(&url, Utc::now()).is_err());
        assert!(s.verify("op=put&key=a", Utc::now()).is_err());
        assert!(s.verify("op=put&key=%zz", Utc::now()).is_err());
    }
}

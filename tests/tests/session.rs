//! Browser sign-in on both backends: an API key becomes an HttpOnly, SameSite=Strict session
//! cookie; requests with the cookie that change something need the CSRF token; sign-out ends
//! the session, so the same cookie stops working.

use wanllmdb_e2e::*;

struct Browser<'a> {
    api: &'a Api,
    cookie: String,
}

impl Browser<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        csrf: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .api
            .http
            .request(method, format!("{}{path}", self.api.base))
            .header("cookie", &self.cookie);
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn sign_in(api: &Api, key: &str) -> reqwest::Response {
    api.http
        .post(format!("{}/api/v1/session", api.base))
        .json(&json!({ "api_key": key }))
        .send()
        .await
        .expect("POST /session")
}

async fn a_browser_signs_in_changes_with_csrf_and_signs_out(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);

    let resp = sign_in(&api, KEY).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a Set-Cookie")
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    let session: Value = resp.json().await.expect("session");
    let csrf = session["csrf_token"].as_str().expect("csrf").to_owned();
    assert_eq!(session["user"]["name"], "admin", "{session}");
    assert!(!set.contains(&csrf), "the CSRF token is not the cookie");
    let cookie = set.split(';').next().expect("name=value").to_owned();
    let browser = Browser { api: &api, cookie };

    // Reading needs only the cookie; the page recovers its CSRF token after a reload.
    let (status, me) = browser.send(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(
        (status, me["name"].clone()),
        (StatusCode::OK, json!("admin"))
    );
    let (_, again) = browser
        .send(Method::GET, "/api/v1/session", None, None)
        .await;
    assert_eq!(again["csrf_token"], json!(csrf));

    // Changing needs the token too.
    let body = || {
        Some(json!({ "name": format!("b-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]) }))
    };
    for token in [None, Some("wrong")] {
        let (status, problem) = browser
            .send(Method::POST, "/api/v1/projects", token, body())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["code"], "csrf", "{problem}");
    }
    let (status, project) = browser
        .send(Method::POST, "/api/v1/projects", Some(&csrf), body())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");

    // Sign-out needs the token, ends the session and clears the cookie.
    let (status, _) = browser
        .send(Method::DELETE, "/api/v1/session", None, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let out = api
        .http
        .delete(format!("{}/api/v1/session", api.base))
        .header("cookie", &browser.cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for path in ["/api/v1/me", "/api/v1/session"] {
        let (status, problem) = browser.send(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {problem}");
    }

    // Keys that do not work make no session.
    for bad in ["wlm_not_a_real_key_0123456789abcdefghijklmnop", "nonsense"] {
        assert_eq!(sign_in(&api, bad).await.status(), StatusCode::UNAUTHORIZED);
    }
    // A forged cookie is no session.
    let forged = Browser {
        api: &api,
        cookie: "wanllmdb_session=wls_0123456789abcdefghijklmnopqrstuvwxyzABCDEF".into(),
    };
    assert_eq!(
        forged.send(Method::GET, "/api/v1/me", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

on_both_backends!(a_browser_signs_in_changes_with_csrf_and_signs_out);

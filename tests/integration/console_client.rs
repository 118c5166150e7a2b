//! A browser stand-in for the console's HTTP tests: keeps the session cookie, reads the CSRF token
//! from the page, posts forms with it, and does not follow redirects (tests look at them).

use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::support::{ADMIN_TOKEN, TestApp};

/// What a console request answered.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub html: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// Fails the test unless the page contains `needle`.
    #[track_caller]
    pub fn shows(&self, needle: &str) -> &Self {
        assert!(
            self.html.contains(needle),
            "page ({}) does not contain {needle:?}:\n{}",
            self.status,
            self.html
        );
        self
    }
    #[track_caller]
    pub fn hides(&self, needle: &str) -> &Self {
        assert!(
            !self.html.contains(needle),
            "page ({}) contains {needle:?}:\n{}",
            self.status,
            self.html
        );
        self
    }
}

/// A browser: the console cookie (if signed in) and the session's CSRF token.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookie: None,
            csrf: None,
        }
    }

    /// Signed in as the operator.
    pub async fn operator(app: &TestApp) -> Browser {
        let mut b = Browser::new(app);
        let p = b
            .post_raw("/console/login", &[("token", ADMIN_TOKEN)])
            .await;
        assert_eq!(p.status, 303, "{}", p.html);
        b.learn_csrf().await;
        b
    }

    /// Signed in as `tenant_id`, through a link the admin API issued.
    pub async fn business(app: &TestApp, tenant_id: &str) -> Browser {
        let url = link_for(app, tenant_id).await;
        let mut b = Browser::new(app);
        let path = url
            .strip_prefix(&app.base)
            .expect("link on this server")
            .to_string();
        let p = b.post_raw(&path, &[]).await;
        assert_eq!(p.status, 303, "{}", p.html);
        b.learn_csrf().await;
        b
    }

    /// Reads the CSRF token from the session's start page.
    async fn learn_csrf(&mut self) {
        let start = self.get("/console").await;
        let to = start.location.clone().expect("start redirects");
        let page = self.get(&to).await;
        self.csrf = csrf_of(&page.html);
        assert!(self.csrf.is_some(), "no csrf token on {to}:\n{}", page.html);
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c.clone());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let set_cookie = headers
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        if let Some(sc) = &set_cookie {
            let pair = sc.split(';').next().unwrap_or("").trim().to_string();
            if pair.ends_with('=') || sc.contains("Max-Age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let html = res.text().await.unwrap_or_default();
        Page {
            status,
            location,
            set_cookie,
            html,
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.request(Method::GET, path, None, &[]).await
    }

    /// Posts `fields` with the session's CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", csrf.as_str()));
        self.request(Method::POST, path, Some(&all), &[]).await
    }

    /// Posts `fields` exactly as given (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.request(Method::POST, path, Some(fields), &[]).await
    }
}

/// The CSRF token a page carries (`<meta name="csrf-token" content="…">`).
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf-token\" content=\"")?;
    let rest = &html[at + "name=\"csrf-token\" content=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A fresh sign-in link for `tenant_id`, from the admin API.
pub async fn link_for(app: &TestApp, tenant_id: &str) -> String {
    let r = app
        .admin(
            Method::POST,
            &format!("/api/admin/tenants/{tenant_id}/console-link"),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["data"]["url"].as_str().unwrap().to_string()
}

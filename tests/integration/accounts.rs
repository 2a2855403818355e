//! Accounts, roles, tokens and the audit log, against the database: what is kept is a hash, never
//! a password or a token; a revoked token or a disabled account opens nothing; every write is in
//! the audit log with who and from where.

use satupeta::accounts::{self, AccountError, Actor, NewAccount, Role};

use super::cli::{satupeta, text};
use super::harness::fresh_db;

const PASSWORD: &str = "kata sandi yang panjang";

fn operator() -> Actor {
    Actor {
        account_id: None,
        name: "test".into(),
        origin: "cli:test".into(),
    }
}

/// An admin or staff account (bound to no agency).
fn unbound(name: &str, role: Role) -> NewAccount<'_> {
    NewAccount {
        name,
        role,
        agency: None,
        password: PASSWORD,
    }
}

fn publisher<'a>(name: &'a str, agency: Option<&'a str>) -> NewAccount<'a> {
    NewAccount {
        name,
        role: Role::Publisher,
        agency,
        password: PASSWORD,
    }
}

#[tokio::test]
async fn accounts_keep_hashes_and_roles_bind_publishers_to_one_agency() {
    let db = fresh_db().await;
    let pool = &db.pool;
    accounts::add_agency(pool, "dinkes", "Dinas Kesehatan", &operator())
        .await
        .unwrap();
    let id = accounts::add_account(pool, &publisher("budi", Some("dinkes")), &operator())
        .await
        .unwrap();
    // Refused, each with its reason, and nothing written.
    let refusals = [
        accounts::add_account(pool, &publisher("ani", None), &operator()).await,
        accounts::add_account(pool, &publisher("ani", Some("dishub")), &operator()).await,
        accounts::add_account(
            pool,
            &NewAccount {
                name: "ani",
                role: Role::Staff,
                agency: Some("dinkes"),
                password: PASSWORD,
            },
            &operator(),
        )
        .await,
        accounts::add_account(pool, &publisher("budi", Some("dinkes")), &operator()).await,
        accounts::add_account(
            pool,
            &NewAccount {
                password: "pendek",
                ..publisher("ani", Some("dinkes"))
            },
            &operator(),
        )
        .await,
        accounts::add_account(pool, &publisher("Ani Admin", Some("dinkes")), &operator()).await,
    ];
    let messages: Vec<String> = refusals
        .into_iter()
        .map(|r| r.unwrap_err().to_string())
        .collect();
    for (message, expected) in messages.iter().zip([
        "--agency",
        "no agency \"dishub\"",
        "only publishers",
        "already exists",
        "shorter than 12",
        "is not an account name",
    ]) {
        assert!(
            message.contains(expected),
            "{message} (expected {expected})"
        );
    }
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM account")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
    // The password is kept as an argon2id hash, nowhere in clear.
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM account WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains(PASSWORD),
        "{hash}"
    );

    // Signing in: the right password only; an unknown name the same as a wrong password.
    let me = accounts::sign_in(pool, "budi", PASSWORD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (me.role, me.agency.as_deref()),
        (Role::Publisher, Some("dinkes"))
    );
    assert!(
        accounts::sign_in(pool, "budi", "kata sandi yang salah")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::sign_in(pool, "siapa", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::sign_in(pool, "budi", &"x".repeat(5000))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_token_speaks_for_its_account_until_revoked_and_every_write_is_audited() {
    let db = fresh_db().await;
    let pool = &db.pool;
    accounts::add_agency(pool, "dinkes", "Dinas Kesehatan", &operator())
        .await
        .unwrap();
    accounts::add_account(pool, &publisher("budi", Some("dinkes")), &operator())
        .await
        .unwrap();
    let token = accounts::create_token(pool, "budi", "skrip harian", &operator())
        .await
        .unwrap();
    assert!(
        token.secret.starts_with("sp_") && token.secret.len() == 67,
        "{}",
        token.secret
    );
    let who = accounts::authenticate(pool, &token.secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((who.name.as_str(), who.role), ("budi", Role::Publisher));
    // Only the token's hash is kept; the listing shows its first characters, and that it was used.
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_token WHERE encode(secret_hash, 'hex') = $1 OR prefix = $1",
    )
    .bind(&token.secret)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(kept, 0);
    let listed = accounts::tokens(pool, Some("budi")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(token.secret.starts_with(&listed[0].prefix) && listed[0].last_used_at.is_some());
    // Forged, malformed or altered tokens open nothing.
    let mut altered = token.secret.clone();
    altered.replace_range(10..11, if &altered[10..11] == "0" { "1" } else { "0" });
    for bad in [altered.as_str(), "sp_", "Bearer x", "", &"sp_".repeat(40)] {
        assert!(
            accounts::authenticate(pool, bad).await.unwrap().is_none(),
            "{bad}"
        );
    }
    // Revoked: nothing; revoking twice is an error.
    accounts::revoke_token(pool, token.id, &operator())
        .await
        .unwrap();
    assert!(
        accounts::authenticate(pool, &token.secret)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        accounts::revoke_token(pool, token.id, &operator()).await,
        Err(AccountError::UnknownToken(_))
    ));
    // A disabled account: neither its password nor its tokens; disabling twice is an error.
    let second = accounts::create_token(pool, "budi", "", &operator())
        .await
        .unwrap();
    accounts::disable_account(pool, "budi", &operator())
        .await
        .unwrap();
    assert!(matches!(
        accounts::disable_account(pool, "budi", &operator()).await,
        Err(AccountError::UnknownAccount(_))
    ));
    assert!(
        accounts::authenticate(pool, &second.secret)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::sign_in(pool, "budi", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );
    // Every write is in the audit log: who, what, on what, from where.
    let log: Vec<(String, String, Option<String>, String)> =
        sqlx::query_as("SELECT actor, action, target, origin FROM audit_log ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let actions: Vec<&str> = log.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(
        actions,
        [
            "agency.add",
            "account.add",
            "token.create",
            "token.revoke",
            "token.create",
            "account.disable"
        ]
    );
    assert!(
        log.iter().all(|l| l.0 == "test" && l.3 == "cli:test"),
        "{log:?}"
    );
    assert_eq!(log[1].2.as_deref(), Some("budi"));
}

#[tokio::test]
async fn the_command_line_adds_agencies_and_prints_a_token_once() {
    let db = fresh_db().await;
    let env = [("DATABASE_URL", db.url.as_str())];
    let added = satupeta(&["agencies", "add", "dinkes", "Dinas Kesehatan"], &env);
    assert!(added.status.success(), "{}", text(&added));
    accounts::add_account(&db.pool, &publisher("budi", Some("dinkes")), &operator())
        .await
        .unwrap();
    let created = satupeta(&["tokens", "create", "budi", "--label", "skrip"], &env);
    assert!(created.status.success(), "{}", text(&created));
    let secret = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    let who = accounts::authenticate(&db.pool, &secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(who.name, "budi");
    let disabled = satupeta(&["users", "disable", "budi"], &env);
    assert!(disabled.status.success(), "{}", text(&disabled));
    assert!(
        accounts::authenticate(&db.pool, &secret)
            .await
            .unwrap()
            .is_none()
    );
    // Refusals name the problem and exit non-zero.
    for (args, expected) in [
        (vec!["tokens", "create", "siapa"], "no account \"siapa\""),
        (vec!["tokens", "revoke", "999"], "no token 999"),
        (
            vec!["agencies", "add", "Dinas Kesehatan", "x"],
            "is not an agency code",
        ),
        (vec!["users", "add", "ani", "--role", "root"], "not a role"),
        (vec!["users", "disable", "siapa"], "no account \"siapa\""),
    ] {
        let out = satupeta(&args, &env);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
}

#[tokio::test]
async fn a_bearer_token_signs_a_request_in_and_only_admins_read_the_audit_log() {
    let db = fresh_db().await;
    let pool = &db.pool;
    accounts::add_agency(pool, "dinkes", "Dinas Kesehatan", &operator())
        .await
        .unwrap();
    accounts::add_account(pool, &publisher("budi", Some("dinkes")), &operator())
        .await
        .unwrap();
    accounts::add_account(pool, &unbound("admin", Role::Admin), &operator())
        .await
        .unwrap();
    let budi = accounts::create_token(pool, "budi", "", &operator())
        .await
        .unwrap();
    let admin = accounts::create_token(pool, "admin", "", &operator())
        .await
        .unwrap();
    let base = super::api::serve(&db).await;
    let client = reqwest::Client::new();
    let get = |path: &str, auth: Option<String>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string());
            let cache = response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_string());
            let body: serde_json::Value = response.json().await.unwrap();
            (status, challenge, cache, body)
        }
    };
    let bearer = |t: &str| Some(format!("Bearer {t}"));

    // Anonymous, a malformed header, a forged or revoked token: 401 asking for a bearer token.
    let (status, challenge, _, body) = get("/api/v1/me", None).await;
    assert_eq!(
        (status, challenge.as_deref()),
        (401, Some("Bearer realm=\"satupeta\"")),
        "{body}"
    );
    for auth in [
        Some(format!("Basic {}", "YnVkaTp4")),
        bearer("sp_0000"),
        Some("Bearer".into()),
    ] {
        let (status, _, _, body) = get("/api/v1/me", auth.clone()).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
    }
    // The token speaks for its account; what it reads is kept by no shared cache.
    let (status, _, cache, me) = get("/api/v1/me", bearer(&budi.secret)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(cache.as_deref(), Some("private, no-store"));
    assert_eq!(
        (
            me["name"].as_str(),
            me["role"].as_str(),
            me["agency"].as_str()
        ),
        (Some("budi"), Some("publisher"), Some("dinkes"))
    );
    // The audit log: admins only (403 for a publisher, 401 for anonymous).
    assert_eq!(get("/api/v1/audit", bearer(&budi.secret)).await.0, 403);
    assert_eq!(get("/api/v1/audit", None).await.0, 401);
    let (status, _, _, log) = get("/api/v1/audit?limit=2", bearer(&admin.secret)).await;
    assert_eq!(status, 200, "{log}");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "token.create");
    assert_eq!(entries[0]["target"], "admin");
    assert_eq!(
        get("/api/v1/audit?limit=0", bearer(&admin.secret)).await.0,
        400
    );
    // Revoked, the token opens nothing.
    accounts::revoke_token(pool, budi.id, &operator())
        .await
        .unwrap();
    assert_eq!(get("/api/v1/me", bearer(&budi.secret)).await.0, 401);
}

#[tokio::test]
async fn a_browser_signs_in_with_a_cookie_that_another_site_cannot_write_with() {
    let db = fresh_db().await;
    let pool = &db.pool;
    accounts::add_account(pool, &unbound("petugas", Role::Staff), &operator())
        .await
        .unwrap();
    let base = super::api::serve(&db).await;
    let host = base.trim_start_matches("http://").to_string();
    let client = reqwest::Client::new();
    let sign_in = |body: serde_json::Value, origin: Option<&str>| {
        let mut request = client
            .post(format!("{base}/api/v1/session"))
            .body(body.to_string());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    // Wrong password, unknown name, another site's page, a body that is not credentials: refused.
    let wrong = sign_in(
        serde_json::json!({"name": "petugas", "password": "salah sekali ya"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let unknown = sign_in(
        serde_json::json!({"name": "siapa", "password": PASSWORD}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 401);
    let foreign = sign_in(
        serde_json::json!({"name": "petugas", "password": PASSWORD}),
        Some("https://evil.example"),
    )
    .await
    .unwrap();
    assert_eq!(foreign.status(), 403);
    assert_eq!(
        sign_in(serde_json::json!(["x"]), None)
            .await
            .unwrap()
            .status(),
        400
    );

    // Signed in from this site: a session cookie only this site's pages send, never to scripts.
    let own = format!("http://{host}");
    let signed = sign_in(
        serde_json::json!({"name": "petugas", "password": PASSWORD}),
        Some(&own),
    )
    .await
    .unwrap();
    assert_eq!(signed.status(), 200);
    let set_cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let secret = cookie.trim_start_matches("satupeta_session=");
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM web_session WHERE encode(secret_hash, 'hex') = $1",
    )
    .bind(secret)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(kept, 0, "only the session's hash is kept");
    let me: serde_json::Value = client
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("petugas"), Some("staff"))
    );

    // A write carried by the cookie from another site (or with no Origin at all): 403.
    for origin in [Some("https://evil.example"), None] {
        let mut request = client
            .delete(format!("{base}/api/v1/session"))
            .header("cookie", &cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        assert_eq!(request.send().await.unwrap().status(), 403, "{origin:?}");
    }
    // Signing out from this site ends the session: the cookie opens nothing after.
    let out = client
        .delete(format!("{base}/api/v1/session"))
        .header("cookie", &cookie)
        .header("origin", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = client
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let started: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'session.start'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(started, 1);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_refused_for_a_while() {
    let db = fresh_db().await;
    for name in ["petugas", "lain"] {
        accounts::add_account(&db.pool, &unbound(name, Role::Staff), &operator())
            .await
            .unwrap();
    }
    let base = super::api::serve(&db).await;
    let client = reqwest::Client::new();
    let attempt = |name: &str, password: &str| {
        client
            .post(format!("{base}/api/v1/session"))
            .body(serde_json::json!({"name": name, "password": password}).to_string())
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("petugas", "tebakan yang salah")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    // Now even the right password waits, told for how long; another account is not held up.
    let held = attempt("petugas", PASSWORD).await.unwrap();
    assert_eq!(held.status(), 429);
    assert_eq!(held.headers()["retry-after"], "900");
    assert_eq!(attempt("lain", PASSWORD).await.unwrap().status(), 200);
}

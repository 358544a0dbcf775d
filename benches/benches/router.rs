//! Router lookups: tachyon-router against matchit (and radix_trie for static paths).
//!
//! Tables: ~130 routes shaped like the GitHub REST API, and 1000 routes (first and last
//! looked up). matchit is the speed reference on the routes it can express; radix_trie is
//! measured on a static-only table, the one shape it can do, to show whether it would help.

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use tachyon_router::{Lookup, Route, Router, Scope};

/// Routes shaped like the GitHub REST API (method, path).
const GITHUB: &[(&str, &str)] = &[
    ("GET", "/authorizations"),
    ("GET", "/authorizations/{id}"),
    ("POST", "/authorizations"),
    ("DELETE", "/authorizations/{id}"),
    ("GET", "/applications/{client_id}/tokens/{access_token}"),
    ("DELETE", "/applications/{client_id}/tokens"),
    ("GET", "/events"),
    ("GET", "/repos/{owner}/{repo}/events"),
    ("GET", "/networks/{owner}/{repo}/events"),
    ("GET", "/orgs/{org}/events"),
    ("GET", "/users/{user}/received_events"),
    ("GET", "/users/{user}/received_events/public"),
    ("GET", "/users/{user}/events"),
    ("GET", "/users/{user}/events/public"),
    ("GET", "/users/{user}/events/orgs/{org}"),
    ("GET", "/feeds"),
    ("GET", "/notifications"),
    ("GET", "/repos/{owner}/{repo}/notifications"),
    ("PUT", "/notifications"),
    ("PUT", "/repos/{owner}/{repo}/notifications"),
    ("GET", "/notifications/threads/{id}"),
    ("GET", "/notifications/threads/{id}/subscription"),
    ("PUT", "/notifications/threads/{id}/subscription"),
    ("DELETE", "/notifications/threads/{id}/subscription"),
    ("GET", "/repos/{owner}/{repo}/stargazers"),
    ("GET", "/users/{user}/starred"),
    ("GET", "/user/starred"),
    ("GET", "/user/starred/{owner}/{repo}"),
    ("PUT", "/user/starred/{owner}/{repo}"),
    ("DELETE", "/user/starred/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/subscribers"),
    ("GET", "/users/{user}/subscriptions"),
    ("GET", "/user/subscriptions"),
    ("GET", "/repos/{owner}/{repo}/subscription"),
    ("PUT", "/repos/{owner}/{repo}/subscription"),
    ("DELETE", "/repos/{owner}/{repo}/subscription"),
    ("GET", "/user/subscriptions/{owner}/{repo}"),
    ("PUT", "/user/subscriptions/{owner}/{repo}"),
    ("DELETE", "/user/subscriptions/{owner}/{repo}"),
    ("GET", "/users/{user}/gists"),
    ("GET", "/gists"),
    ("GET", "/gists/{id}"),
    ("POST", "/gists"),
    ("PUT", "/gists/{id}/star"),
    ("DELETE", "/gists/{id}/star"),
    ("GET", "/gists/{id}/star"),
    ("POST", "/gists/{id}/forks"),
    ("DELETE", "/gists/{id}"),
    ("GET", "/repos/{owner}/{repo}/git/blobs/{sha}"),
    ("POST", "/repos/{owner}/{repo}/git/blobs"),
    ("GET", "/repos/{owner}/{repo}/git/commits/{sha}"),
    ("POST", "/repos/{owner}/{repo}/git/commits"),
    ("GET", "/repos/{owner}/{repo}/git/refs"),
    ("POST", "/repos/{owner}/{repo}/git/refs"),
    ("GET", "/repos/{owner}/{repo}/git/tags/{sha}"),
    ("POST", "/repos/{owner}/{repo}/git/tags"),
    ("GET", "/repos/{owner}/{repo}/git/trees/{sha}"),
    ("POST", "/repos/{owner}/{repo}/git/trees"),
    ("GET", "/issues"),
    ("GET", "/user/issues"),
    ("GET", "/orgs/{org}/issues"),
    ("GET", "/repos/{owner}/{repo}/issues"),
    ("GET", "/repos/{owner}/{repo}/issues/{number}"),
    ("POST", "/repos/{owner}/{repo}/issues"),
    ("GET", "/repos/{owner}/{repo}/assignees"),
    ("GET", "/repos/{owner}/{repo}/assignees/{assignee}"),
    ("GET", "/repos/{owner}/{repo}/issues/{number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{number}/comments"),
    ("GET", "/repos/{owner}/{repo}/issues/{number}/events"),
    ("GET", "/repos/{owner}/{repo}/labels"),
    ("GET", "/repos/{owner}/{repo}/labels/{name}"),
    ("POST", "/repos/{owner}/{repo}/labels"),
    ("DELETE", "/repos/{owner}/{repo}/labels/{name}"),
    ("GET", "/repos/{owner}/{repo}/issues/{number}/labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{number}/labels"),
    (
        "DELETE",
        "/repos/{owner}/{repo}/issues/{number}/labels/{name}",
    ),
    ("PUT", "/repos/{owner}/{repo}/issues/{number}/labels"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels"),
    ("GET", "/repos/{owner}/{repo}/milestones/{number}/labels"),
    ("GET", "/repos/{owner}/{repo}/milestones"),
    ("GET", "/repos/{owner}/{repo}/milestones/{number}"),
    ("POST", "/repos/{owner}/{repo}/milestones"),
    ("DELETE", "/repos/{owner}/{repo}/milestones/{number}"),
    ("GET", "/emojis"),
    ("GET", "/gitignore/templates"),
    ("GET", "/gitignore/templates/{name}"),
    ("POST", "/markdown"),
    ("POST", "/markdown/raw"),
    ("GET", "/meta"),
    ("GET", "/rate_limit"),
    ("GET", "/users/{user}/orgs"),
    ("GET", "/user/orgs"),
    ("GET", "/orgs/{org}"),
    ("GET", "/orgs/{org}/members"),
    ("GET", "/orgs/{org}/members/{user}"),
    ("DELETE", "/orgs/{org}/members/{user}"),
    ("GET", "/orgs/{org}/public_members"),
    ("GET", "/orgs/{org}/public_members/{user}"),
    ("PUT", "/orgs/{org}/public_members/{user}"),
    ("DELETE", "/orgs/{org}/public_members/{user}"),
    ("GET", "/orgs/{org}/teams"),
    ("GET", "/teams/{id}"),
    ("POST", "/orgs/{org}/teams"),
    ("DELETE", "/teams/{id}"),
    ("GET", "/teams/{id}/members"),
    ("GET", "/teams/{id}/members/{user}"),
    ("PUT", "/teams/{id}/members/{user}"),
    ("DELETE", "/teams/{id}/members/{user}"),
    ("GET", "/teams/{id}/repos"),
    ("GET", "/teams/{id}/repos/{owner}/{repo}"),
    ("PUT", "/teams/{id}/repos/{owner}/{repo}"),
    ("DELETE", "/teams/{id}/repos/{owner}/{repo}"),
    ("GET", "/user/teams"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}/commits"),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}/files"),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}/merge"),
    ("PUT", "/repos/{owner}/{repo}/pulls/{number}/merge"),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}/comments"),
    ("PUT", "/repos/{owner}/{repo}/pulls/{number}/comments"),
    ("GET", "/user/repos"),
    ("GET", "/users/{user}/repos"),
    ("GET", "/orgs/{org}/repos"),
    ("GET", "/repositories"),
    ("POST", "/user/repos"),
    ("POST", "/orgs/{org}/repos"),
    ("GET", "/repos/{owner}/{repo}"),
    ("DELETE", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/contributors"),
    ("GET", "/repos/{owner}/{repo}/languages"),
    ("GET", "/repos/{owner}/{repo}/teams"),
    ("GET", "/repos/{owner}/{repo}/tags"),
    ("GET", "/repos/{owner}/{repo}/branches"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/collaborators"),
    ("GET", "/repos/{owner}/{repo}/collaborators/{user}"),
    ("PUT", "/repos/{owner}/{repo}/collaborators/{user}"),
    ("DELETE", "/repos/{owner}/{repo}/collaborators/{user}"),
    ("GET", "/repos/{owner}/{repo}/comments"),
    ("GET", "/repos/{owner}/{repo}/commits/{sha}/comments"),
    ("POST", "/repos/{owner}/{repo}/commits/{sha}/comments"),
    ("GET", "/repos/{owner}/{repo}/comments/{id}"),
    ("DELETE", "/repos/{owner}/{repo}/comments/{id}"),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("GET", "/repos/{owner}/{repo}/commits/{sha}"),
    ("GET", "/repos/{owner}/{repo}/readme"),
    ("GET", "/repos/{owner}/{repo}/keys"),
    ("GET", "/repos/{owner}/{repo}/keys/{id}"),
    ("POST", "/repos/{owner}/{repo}/keys"),
    ("DELETE", "/repos/{owner}/{repo}/keys/{id}"),
    ("GET", "/repos/{owner}/{repo}/downloads"),
    ("GET", "/repos/{owner}/{repo}/downloads/{id}"),
    ("DELETE", "/repos/{owner}/{repo}/downloads/{id}"),
    ("GET", "/repos/{owner}/{repo}/forks"),
    ("POST", "/repos/{owner}/{repo}/forks"),
    ("GET", "/repos/{owner}/{repo}/hooks"),
    ("GET", "/repos/{owner}/{repo}/hooks/{id}"),
    ("POST", "/repos/{owner}/{repo}/hooks"),
    ("POST", "/repos/{owner}/{repo}/hooks/{id}/tests"),
    ("DELETE", "/repos/{owner}/{repo}/hooks/{id}"),
    ("POST", "/repos/{owner}/{repo}/merges"),
    ("GET", "/repos/{owner}/{repo}/releases"),
    ("GET", "/repos/{owner}/{repo}/releases/{id}"),
    ("POST", "/repos/{owner}/{repo}/releases"),
    ("DELETE", "/repos/{owner}/{repo}/releases/{id}"),
    ("GET", "/repos/{owner}/{repo}/releases/{id}/assets"),
    ("GET", "/repos/{owner}/{repo}/stats/contributors"),
    ("GET", "/repos/{owner}/{repo}/stats/commit_activity"),
    ("GET", "/repos/{owner}/{repo}/stats/code_frequency"),
    ("GET", "/repos/{owner}/{repo}/stats/participation"),
    ("GET", "/repos/{owner}/{repo}/stats/punch_card"),
    ("GET", "/repos/{owner}/{repo}/statuses/{ref}"),
    ("POST", "/repos/{owner}/{repo}/statuses/{ref}"),
    ("GET", "/search/repositories"),
    ("GET", "/search/code"),
    ("GET", "/search/issues"),
    ("GET", "/search/users"),
    (
        "GET",
        "/legacy/issues/search/{owner}/{repository}/{state}/{keyword}",
    ),
    ("GET", "/legacy/repos/search/{keyword}"),
    ("GET", "/legacy/user/search/{keyword}"),
    ("GET", "/legacy/user/email/{email}"),
    ("GET", "/users/{user}"),
    ("GET", "/user"),
    ("GET", "/users"),
    ("GET", "/user/emails"),
    ("POST", "/user/emails"),
    ("DELETE", "/user/emails"),
    ("GET", "/users/{user}/followers"),
    ("GET", "/user/followers"),
    ("GET", "/users/{user}/following"),
    ("GET", "/user/following"),
    ("GET", "/user/following/{user}"),
    ("GET", "/users/{user}/following/{target_user}"),
    ("PUT", "/user/following/{user}"),
    ("DELETE", "/user/following/{user}"),
    ("GET", "/users/{user}/keys"),
    ("GET", "/user/keys"),
    ("GET", "/user/keys/{id}"),
    ("POST", "/user/keys"),
    ("DELETE", "/user/keys/{id}"),
];

/// Paths looked up in the GitHub table: static, shallow params, deep params.
const GITHUB_LOOKUPS: &[(&str, &str)] = &[
    ("GET", "/user/repos"),
    ("GET", "/repos/rust-lang/rust/stargazers"),
    ("PUT", "/orgs/rust-lang/public_members/nikomatsakis"),
    ("GET", "/repos/rust-lang/rust/releases/1"),
    ("DELETE", "/repos/rust-lang/rust/issues/123/labels/bug"),
    ("GET", "/legacy/issues/search/rust-lang/rust/open/router"),
    ("GET", "/users/octocat/events/orgs/github"),
    ("GET", "/meta"),
    ("PUT", "/gists/abc/star"),
    ("GET", "/search/code"),
];

/// One route per unique path (the GitHub table lists each path once per method; a Starlette
/// app declares one route per path with a method set, which is what we build).
fn unique_paths() -> Vec<&'static str> {
    let mut seen: Vec<&str> = Vec::new();
    for (_, p) in GITHUB {
        if !seen.contains(p) {
            seen.push(p);
        }
    }
    seen
}

fn github_tachyon() -> Router {
    let mut router = Router::new();
    for path in unique_paths() {
        let methods = GITHUB.iter().filter(|(_, p)| *p == path).map(|(m, _)| *m);
        router.push(
            Route::http(path)
                .expect("valid template")
                .with_methods(methods),
        );
    }
    router
}

fn github_matchit() -> matchit::Router<usize> {
    let mut router = matchit::Router::new();
    for (i, path) in unique_paths().into_iter().enumerate() {
        router.insert(path, i).expect("matchit accepts the table");
    }
    router
}

/// The GitHub lookups split by kind: paths of routes without parameters, and the others.
type Lookups = Vec<(&'static str, &'static str)>;
fn github_lookups_by_kind(router: &Router) -> (Lookups, Lookups) {
    GITHUB_LOOKUPS.iter().partition(|(method, path)| {
        matches!(router.lookup(&Scope::http(method, path)), Lookup::Full(m) if m.params.is_empty())
    })
}

/// One timed pass of `lookups` through our router.
#[inline(always)]
fn ours_over(ours: &Router, lookups: &[(&str, &str)]) {
    for (method, path) in lookups {
        black_box(index(ours.lookup(&Scope::http(method, black_box(path)))));
    }
}

/// One timed pass of `lookups` through matchit (which has no methods).
#[inline(always)]
fn matchit_over(theirs: &matchit::Router<usize>, lookups: &[(&str, &str)]) {
    for (_, path) in lookups {
        let m = theirs
            .at(black_box(path))
            .map(|m| *m.value + m.params.len());
        black_box(m.ok());
    }
}

fn index(lookup: Lookup<'_, '_>) -> usize {
    match lookup {
        Lookup::Full(m) => m.index + m.params.len(),
        Lookup::Partial(i) => i,
        Lookup::NotFound => usize::MAX,
    }
}

fn bench_github(c: &mut Criterion) {
    let ours = github_tachyon();
    let theirs = github_matchit();
    // Same answers before timing anything.
    for (method, path) in GITHUB_LOOKUPS {
        let m = theirs.at(path).expect("matchit finds it");
        let Lookup::Full(ours_m) = ours.lookup(&Scope::http(method, path)) else {
            panic!("tachyon finds {path}");
        };
        assert_eq!(*m.value, ours_m.index, "{path}");
    }
    let mut group = c.benchmark_group("github");
    group.bench_function("tachyon", |b| b.iter(|| ours_over(&ours, GITHUB_LOOKUPS)));
    group.bench_function("matchit", |b| {
        b.iter(|| matchit_over(&theirs, GITHUB_LOOKUPS))
    });
    group.bench_function("tachyon_404", |b| {
        b.iter(|| {
            black_box(index(
                ours.lookup(&Scope::http("GET", black_box("/repos/a/b/nope/x"))),
            ))
        })
    });
    group.bench_function("matchit_404", |b| {
        b.iter(|| black_box(theirs.at(black_box("/repos/a/b/nope/x")).is_ok()))
    });
    let (statics, params) = github_lookups_by_kind(&ours);
    for (kind, lookups) in [("static", &statics), ("params", &params)] {
        group.bench_function(format!("tachyon_{kind}"), |b| {
            b.iter(|| ours_over(&ours, lookups))
        });
        group.bench_function(format!("matchit_{kind}"), |b| {
            b.iter(|| matchit_over(&theirs, lookups))
        });
    }
    group.finish();
}

fn thousand_paths() -> Vec<String> {
    (0..1000)
        .map(|i| match i % 4 {
            0 => format!("/route{i}"),
            1 => format!("/route{i}/{{id}}"),
            2 => format!("/api/v{i}/items/{{id}}/detail"),
            _ => format!("/static{i}/a/b/c"),
        })
        .collect()
}

/// The thousand-route table, in our router and in matchit.
fn thousand_routers() -> (Router, matchit::Router<usize>) {
    let paths = thousand_paths();
    let mut ours = Router::new();
    let mut theirs = matchit::Router::new();
    for (i, p) in paths.iter().enumerate() {
        ours.push(Route::http(p).expect("valid template"));
        theirs.insert(p.as_str(), i).expect("matchit accepts it");
    }
    (ours, theirs)
}

fn bench_thousand(c: &mut Criterion) {
    let (ours, theirs) = thousand_routers();
    let first = "/route0";
    let last = "/static999/a/b/c";
    let last_param = "/api/v998/items/42/detail";
    let mut group = c.benchmark_group("thousand");
    for (label, path) in [("first", first), ("last", last), ("last_param", last_param)] {
        assert_eq!(
            index(ours.lookup(&Scope::http("GET", path))) >= 998,
            label != "first"
        );
        group.bench_function(format!("tachyon_{label}"), |b| {
            b.iter(|| black_box(index(ours.lookup(&Scope::http("GET", black_box(path))))))
        });
        group.bench_function(format!("matchit_{label}"), |b| {
            b.iter(|| black_box(theirs.at(black_box(path)).map(|m| *m.value).ok()))
        });
    }
    group.finish();
}

/// radix_trie can only do exact (static) keys: compare it with our full lookup on a
/// static-only table. If our whole lookup is faster than its bare key lookup, the trie
/// would not help the static part of our tree either.
fn bench_static_vs_radix_trie(c: &mut Criterion) {
    let paths: Vec<String> = (0..1000).map(|i| format!("/static{i}/a/b/c")).collect();
    let mut ours = Router::new();
    let mut trie = radix_trie::Trie::new();
    for (i, p) in paths.iter().enumerate() {
        ours.push(Route::http(p).expect("valid template"));
        trie.insert(p.clone(), i);
    }
    let last = "/static999/a/b/c";
    let mut group = c.benchmark_group("static1000");
    group.bench_function("tachyon", |b| {
        b.iter(|| black_box(index(ours.lookup(&Scope::http("GET", black_box(last))))))
    });
    group.bench_function("radix_trie", |b| {
        b.iter(|| black_box(trie.get(black_box(last)).copied()))
    });
    group.finish();
}

/// Ours and matchit alternating in short rounds: on a shared, noisy machine the median of
/// per-round ratios is steadier than two medians taken a minute apart.
fn interleaved() {
    use std::time::Instant;

    fn time(iters: u32, f: &mut impl FnMut()) -> f64 {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(iters)
    }
    fn report(label: &str, mut ours: impl FnMut(), mut theirs: impl FnMut()) {
        let (rounds, iters) = (201, 2000);
        let (mut a, mut b, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let x = time(iters, &mut ours);
            let y = time(iters, &mut theirs);
            a.push(x);
            b.push(y);
            ratio.push(x / y);
        }
        for v in [&mut a, &mut b, &mut ratio] {
            v.sort_by(f64::total_cmp);
        }
        let mid = rounds / 2;
        println!(
            "interleaved {label:<24} tachyon {:>8.1} ns  matchit {:>8.1} ns  ratio {:.2}",
            a[mid], b[mid], ratio[mid]
        );
    }

    let ours = github_tachyon();
    let theirs = github_matchit();
    let (statics, params) = github_lookups_by_kind(&ours);
    let all: Lookups = GITHUB_LOOKUPS.to_vec();
    for (label, lookups) in [
        (format!("github ({} lookups)", all.len()), &all),
        (format!("github static ({})", statics.len()), &statics),
        (format!("github params ({})", params.len()), &params),
    ] {
        report(
            &label,
            || ours_over(&ours, lookups),
            || matchit_over(&theirs, lookups),
        );
    }
    let (ours, theirs) = thousand_routers();
    for (label, path) in [
        ("thousand first", "/route0"),
        ("thousand last", "/static999/a/b/c"),
        ("thousand last_param", "/api/v998/items/42/detail"),
    ] {
        report(
            label,
            || {
                black_box(index(ours.lookup(&Scope::http("GET", black_box(path)))));
            },
            || {
                black_box(theirs.at(black_box(path)).map(|m| *m.value).ok());
            },
        );
    }
}

criterion_group!(
    benches,
    bench_github,
    bench_thousand,
    bench_static_vs_radix_trie
);

fn main() {
    // `ROUTER_INTERLEAVED_ONLY=1` skips criterion and prints only the alternating ratios.
    if std::env::var_os("ROUTER_INTERLEAVED_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    interleaved();
}

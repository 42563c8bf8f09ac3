//! Charts and `report.html`: produced for every bundled scenario, valid PNG/SVG with the
//! expected series, every report section present, scenario strings escaped, `plot`
//! reproducing the same files, sweep break-even and capacity charts, and (when chromium is
//! installed, or required by `LEDGERSIM_REQUIRE_CHROMIUM=1`) rendering in a real browser.

use crate::common::{self, TempDir, list_dir};
use std::path::{Path, PathBuf};

/// Every `.toml` under `scenarios/`, sorted.
fn bundled_scenarios() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&common::repo_root().join("scenarios"), &mut v);
    v.sort();
    v
}

/// Run a scenario shortened to 4 s simulated (1 s warm-up), 2 replications, into `out`.
fn short_run(scenario: &Path, out: &Path, extra: &[&str]) {
    let mut args: Vec<String> = vec![
        "run".into(),
        scenario.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--replications".into(),
        "2".into(),
        "--set".into(),
        "duration=\"4s\"".into(),
        "--set".into(),
        "warmup=\"1s\"".into(),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let (code, stdout, err) = common::run(&args);
    // Validation cases judge their `[[expect]]` lines on the shortened run too and may fail
    // them (exit 1); their outputs are written all the same, which is what is checked here.
    let judged = scenario.components().any(|c| c.as_os_str() == "validation") && stdout.contains("Expectations (");
    let allowed = if judged { code == 0 || code == 1 } else { code == 0 };
    assert!(allowed, "{}: exit {code}: {stdout}{err}", scenario.display());
}

/// A PNG: the signature, then an IHDR chunk of 1200 × 800.
fn assert_png(path: &Path) {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() > 1000, "{}: {} bytes", path.display(), b.len());
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}: not a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR", "{}: no IHDR first", path.display());
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    assert_eq!((w, h), (1200, 800), "{}", path.display());
    assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND", "{}: truncated", path.display());
}

/// Well-formed XML (every tag closed in order, no stray `<`/`&`) rooted at one `<svg>`.
fn assert_svg_well_formed(text: &str, what: &str) {
    let body = text.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>").expect("end of XML declaration") + 2..],
        None => body,
    };
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body.trim();
    let mut roots = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>').unwrap_or_else(|| panic!("{what}: unterminated tag"));
            let tag = &r[..end];
            rest = &r[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().unwrap_or_else(|| panic!("{what}: stray </{name}>"));
                assert_eq!(open, name.trim(), "{what}: </{name}> closes <{open}>");
            } else {
                let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
                assert!(!name.is_empty(), "{what}: empty tag");
                assert_eq!(tag.matches('"').count() % 2, 0, "{what}: unbalanced quotes in <{tag}>");
                if stack.is_empty() {
                    roots += 1;
                    assert_eq!(name, "svg", "{what}: root element");
                }
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let txt = &rest[..end];
            for (i, _) in txt.match_indices('&') {
                let ent = &txt[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                        .iter()
                        .any(|e| ent.starts_with(e)),
                    "{what}: bare & in text"
                );
            }
            rest = &rest[end..];
        }
    }
    assert!(stack.is_empty(), "{what}: unclosed {stack:?}");
    assert_eq!(roots, 1, "{what}");
}

/// System names of a results directory's summary, and whether each has a latency distribution.
fn systems(out: &Path) -> Vec<(String, bool)> {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    s["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["latency_ms"]["p50"]["mean"].as_f64().is_some(),
            )
        })
        .collect()
}

fn check_charts(out: &Path, what: &str) {
    let charts = out.join("charts");
    let files = list_dir(&charts);
    let names = systems(out);
    let mut expected = vec!["cost", "latency_cdf", "timeseries"];
    if names.len() > 1 {
        expected.push("savings");
    }
    for stem in expected {
        for ext in ["png", "svg"] {
            assert!(
                files.contains(&format!("{stem}.{ext}")),
                "{what}: no {stem}.{ext} in {files:?}"
            );
        }
    }
    for f in &files {
        let p = charts.join(f);
        if f.ends_with(".png") {
            assert_png(&p);
        } else if f.ends_with(".svg") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert_svg_well_formed(&text, &format!("{what}/{f}"));
            assert!(text.contains("<text"), "{what}/{f}: no text");
            // Every series is labelled: each system's name appears in the charts drawn per
            // system (the savings chart leaves out the baseline).
            let stem = f.trim_end_matches(".svg");
            if ["cost", "latency_cdf", "timeseries"].contains(&stem) || stem.starts_with("sweep_") {
                for (n, committed) in &names {
                    if stem == "latency_cdf" && !committed {
                        continue; // nothing completed: no distribution to draw
                    }
                    let escaped = n.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                    assert!(text.contains(&escaped), "{what}/{f}: no series `{n}`");
                }
            }
        } else {
            panic!("{what}: unexpected chart file {f}");
        }
    }
}

#[test]
fn charts_are_drawn_for_every_bundled_scenario() {
    let tmp = TempDir::new("charts-all");
    let scenarios = bundled_scenarios();
    assert!(scenarios.len() >= 5, "{scenarios:?}");
    for (i, sc) in scenarios.iter().enumerate() {
        let out = tmp.join(format!("out{i}"));
        short_run(sc, &out, &[]);
        check_charts(&out, &sc.display().to_string());
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.contains("<svg"), "{}: no inline chart", sc.display());
        // Bulky outputs would make committed example results too large.
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn the_report_has_every_section_and_needs_no_network() {
    let tmp = TempDir::new("report-sections");
    let out = tmp.join("out");
    short_run(&common::quickstart_path(), &out, &[]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for id in [
        "findings",
        "comparison",
        "charts",
        "assumptions",
        "faults",
        "reproducibility",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "no section {id}");
    }
    for chart in ["cost", "savings", "latency_cdf", "timeseries"] {
        assert!(
            html.contains(&format!("<figure id=\"chart-{chart}\">")),
            "no chart {chart}"
        );
    }
    assert_eq!(html.matches("<svg").count(), 4);
    // Findings are sentences with numbers from the summary.
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let saving = s["systems"][1]["savings_vs_baseline_pct"]["mean"].as_f64().unwrap();
    assert!(
        html.contains(&format!("{saving:.1} % below")),
        "no saving sentence for {saving:.1}"
    );
    // Assumptions: sourced and unsourced parameters, each with its value.
    assert!(html.contains("BSN white paper"), "node_hour source missing");
    assert!(html.contains("<code>cost.bulk_fee_per_item</code>"));
    assert!(html.contains("<code>network.loss</code>"));
    // Reproducibility: scenario hash, seed, exact command and how to reproduce.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(html.contains(m["scenario_sha256"].as_str().unwrap()));
    assert!(html.contains("ledgersim reproduce"));
    assert!(
        html.contains("duration=&quot;4s&quot;") || html.contains("duration=\\&quot;4s"),
        "command line missing"
    );
    // Self-contained: no scripts, no external resources.
    for bad in ["<script", "<link", "src=\"http", "url(http", "@import"] {
        assert!(!html.contains(bad), "report contains {bad}");
    }
}

#[test]
fn scenario_strings_are_escaped_in_the_report() {
    let tmp = TempDir::new("report-escape");
    let text = common::quickstart()
        .replacen("name = \"quickstart\"", "name = \"q<script>alert(1)</script>\"", 1)
        .replacen("name = \"pbft\"", "name = \"pb<b>ft</b>&co\"", 1);
    let text = match text.find("description = ") {
        Some(i) => {
            let end = i + text[i..].find('\n').unwrap();
            format!(
                "{}description = \"<img src=x onerror=alert(2)> & 'quotes' \\\"\"{}",
                &text[..i],
                &text[end..]
            )
        }
        None => panic!("quickstart has no description"),
    };
    let scenario = tmp.write("hostile.toml", text);
    let out = tmp.join("out");
    let (code, stdout, err) = common::run([
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for raw in ["<script>alert", "<img src=x", "<b>ft</b>", "&co<", "'quotes'"] {
        assert!(!html.contains(raw), "unescaped {raw:?} in report.html");
    }
    assert!(html.contains("q&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt; &amp; &#39;quotes&#39; &quot;"));
    assert!(html.contains("pb&lt;b&gt;ft&lt;/b&gt;&amp;co"));
    check_charts(&out, "hostile");
}

#[test]
fn plot_reproduces_the_same_files() {
    let tmp = TempDir::new("plot-same");
    let out = tmp.join("out");
    short_run(&common::quickstart_path(), &out, &[]);
    let read_all = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = list_dir(&dir.join("charts"))
            .into_iter()
            .map(|f| (f.clone(), std::fs::read(dir.join("charts").join(&f)).unwrap()))
            .collect();
        v.push(("report.html".into(), std::fs::read(dir.join("report.html")).unwrap()));
        v
    };
    let before = read_all(&out);
    assert!(before.len() >= 9, "{}", before.len());
    std::fs::remove_dir_all(out.join("charts")).unwrap();
    std::fs::remove_file(out.join("report.html")).unwrap();
    let (code, stdout, err) = common::run(["plot", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{err}");
    let after = read_all(&out);
    assert_eq!(before.len(), after.len());
    for ((n1, b1), (n2, b2)) in before.iter().zip(&after) {
        assert_eq!(n1, n2);
        assert!(b1 == b2, "{n1} differs after plot");
    }
    // Plotting again over existing charts gives the same bytes and leaves nothing behind.
    let (code, _, err) = common::run(["plot", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(read_all(&out) == after);
    assert!(
        !list_dir(&out).iter().any(|f| f.starts_with('.')),
        "{:?}",
        list_dir(&out)
    );
    // Not a results directory: invalid input.
    let (code, _, err) = common::run(["plot", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("summary.json"), "{err}");
}

#[test]
fn sweep_break_even_and_capacity_charts() {
    let tmp = TempDir::new("plot-sweep");
    let text = format!(
        "{}\n[sweep]\n\"workload.flow[0].arrival.rate\" = [1.0, 10.0, 100.0]\n",
        common::quickstart()
    );
    let scenario = tmp.write("sweep.toml", text);
    let out = tmp.join("out");
    short_run(&scenario, &out, &[]);
    for stem in ["sweep_cost", "sweep_throughput", "sweep_latency_p99", "sweep_savings"] {
        assert!(out.join("charts").join(format!("{stem}.svg")).exists(), "no {stem}");
    }
    check_charts(&out, "sweep");
    // Hand-edit the costs so that the ledger is dearer at low volume and cheaper at high
    // volume (a break-even between points 0 and 1), and add a capacity search result.
    let path = out.join("summary.json");
    let mut s: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let costs = [(5.0, 9.0), (5.0, 3.0), (5.0, 1.0)];
    for (k, (base, ledger)) in costs.iter().enumerate() {
        s["sweep"]["points"][k]["systems"][0]["cost_per_tx"]["total"]["mean"] = (*base).into();
        s["sweep"]["points"][k]["systems"][1]["cost_per_tx"]["total"]["mean"] = (*ledger).into();
    }
    s["capacity"] = serde_json::json!({
        "slo_p99_ms": 1000.0,
        "min_throughput_ratio": 0.95,
        "systems": [
            {"system": "centralized", "capacity_tps": 400.0, "probes": [
                {"offered_tps": 100.0, "achieved_tps": 100.0, "p99_ms": 30.0, "ok": true},
                {"offered_tps": 400.0, "achieved_tps": 398.0, "p99_ms": 40.0, "ok": true},
                {"offered_tps": 1600.0, "achieved_tps": 900.0, "p99_ms": 9000.0, "ok": false}]},
            {"system": "pbft", "capacity_tps": null, "probes": [
                {"offered_tps": 100.0, "achieved_tps": 60.0, "p99_ms": null, "ok": false}]}
        ]
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
    let (code, stdout, err) = common::run(["plot", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{err}");
    let cost = std::fs::read_to_string(out.join("charts/sweep_cost.svg")).unwrap();
    // Linear interpolation in log10(rate): 9 → 3 and 5 → 5 cross at 10^(4/6).
    let at = 10f64.powf(4.0 / 6.0);
    assert!(cost.contains("break-even: pbft = centralized"), "no break-even label");
    assert!(cost.contains(&format!("{at:.3}")), "break-even not at {at:.3}");
    let cap = std::fs::read_to_string(out.join("charts/capacity.svg")).unwrap();
    assert_svg_well_formed(&cap, "capacity.svg");
    assert!(cap.contains("centralized (capacity 400 tx/s)"), "capacity legend");
    assert!(cap.contains("pbft (no probe met the objective)"));
    assert_png(&out.join("charts/capacity.png"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Break-even"), "no break-even finding");
    assert!(html.contains("sustains up to 400 tx/s"));
    assert!(html.contains("<figure id=\"chart-capacity\">"));
}

/// Load the report in headless chromium and check the rendered DOM. Skipped when chromium is
/// not installed, unless `LEDGERSIM_REQUIRE_CHROMIUM=1` (set by `.ci/run`), which makes a
/// missing browser a failure.
#[test]
fn the_report_renders_in_headless_chromium() {
    let required = std::env::var("LEDGERSIM_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
    let browser = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let Some(browser) = browser else {
        assert!(!required, "LEDGERSIM_REQUIRE_CHROMIUM=1 but no chromium on PATH");
        eprintln!("skipped: chromium not installed (set LEDGERSIM_REQUIRE_CHROMIUM=1 to require it)");
        return;
    };
    let tmp = TempDir::new("chromium");
    let out = tmp.join("out");
    short_run(&common::quickstart_path(), &out, &[]);
    let report = std::fs::canonicalize(out.join("report.html")).unwrap();
    let profile = tmp.join("profile");
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &format!("file://{}", report.display()),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for id in [
        "findings",
        "comparison",
        "charts",
        "assumptions",
        "faults",
        "reproducibility",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "rendered DOM lacks section {id}"
        );
    }
    // The inline charts survive parsing as SVG elements with their text.
    assert_eq!(dom.matches("<svg").count(), 4, "inline SVG charts in the DOM");
    assert!(dom.contains("Cost per transaction by category"));
    assert!(dom.contains("<text"));
}

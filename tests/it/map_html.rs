//! `map.html` on a tiny run, in a real browser: headless Chromium loads it from `file://` with no
//! console errors, draws something, and answers a scripted hover, search and selection through
//! the page's test hook (`?selftest`, which writes its report into the page): hover, search,
//! selection by box and lasso, colour at the fitted view, hidden groups, the pinned panel, cluster
//! names, keys, touch pan and pinch, the view in the URL, layout switches, themes and `?item`.

use std::path::Path;

use hebb::testing::browser::{chromium, headless, self_test};

use crate::common::{hebb, write_labelled_tiny_config};

/// Runs the page's self-test in headless Chromium and checks every answer in its report; the
/// page has `sprites` items, and loads its atlases and neighbours from `map/` when `tiled`.
fn check_self_test(browser: &Path, profile: &Path, page: &Path, sprites: usize, tiled: bool) {
    let report = self_test(browser, profile, page, "").unwrap();
    assert_eq!(report["errors"], serde_json::json!([]), "console errors: {report}");
    assert_eq!(report["count"], sprites, "{report}");
    let probe = sprites / 2;
    assert_eq!(report["hover"], probe, "hovering over item {probe} finds it: {report}");
    let panel = report["panel"].as_str().unwrap();
    assert!(panel.starts_with("sheet.png#") && panel.contains(&format!(" · #{probe} · ")), "{panel}");
    assert_eq!(report["search"], true, "searching for its label (or file name) finds it: {report}");
    assert_eq!(report["search_name"], true, "searching for its name finds it: {report}");
    assert_eq!(report["folder_matches"], 0, "the folders above the files are not searched: {report}");
    assert_eq!(report["selected"], sprites, "a box over the whole view selects every item: {report}");
    assert_eq!(report["selected_in_search"], true, "with a search active, only its matches: {report}");
    assert_eq!(report["selection_csv"], "index,name,label,cluster,source,x,y", "{report}");
    assert_eq!(report["dimmed_by_selection"], true, "the rest is dimmed while a selection stands: {report}");
    assert_eq!(report["cleared_by_escape"], true, "Esc clears the selection: {report}");
    assert_eq!(report["strip"], true, "a strip shows the selected images: {report}");
    assert_eq!(report["lasso"], true, "a lasso around an item selects it: {report}");
    assert_eq!(report["frame_colour"], true, "at the fitted view a sprite's frame has its group's colour: {report}");
    assert_eq!(report["colour_modes_differ"], true, "label and cluster colouring differ at the fitted view: {report}");
    assert_eq!(report["hidden"], true, "a hidden group is neither drawn nor picked: {report}");
    assert_eq!(report["pinned"], true, "a click pins the panel and marks the neighbours: {report}");
    assert_eq!(report["neighbour_opens"], true, "a click on a neighbour goes there: {report}");
    assert_eq!(report["unpinned_by_escape"], true, "{report}");
    assert_eq!(report["names"], true, "each cluster is named at its centroid: {report}");
    assert_eq!(report["names_toggle"], true, "{report}");
    for key in ["key_zoom_in", "key_zoom_out", "key_fit", "key_pan", "key_search"] {
        assert_eq!(report[key], true, "{key}: {report}");
    }
    assert_eq!(report["touch_pan"], true, "one finger pans: {report}");
    assert_eq!(report["pinch"], true, "two fingers zoom: {report}");
    assert_eq!(report["hash"], true, "the view round-trips through the URL's hash: {report}");
    assert_eq!(report["layout_keeps_centre"], true, "a layout switch keeps the centre item centred: {report}");
    assert_eq!(report["theme"], true, "the light theme changes the page and the map: {report}");
    let focus = serde_json::json!({ "centred": true, "zoomed": true, "ringed": true });
    assert_eq!(report["focus"], focus, "?item centres on the item, zooms in and rings it: {report}");

    assert_eq!(report["tiled"], tiled, "{report}");
}

#[test]
fn map_html_loads_draws_and_answers_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    // Labels by column pair, so that the map has a label colouring beside the clusters'.
    let (config, sprites) = write_labelled_tiny_config(dir.path());
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = dir.path().join("outputs/tiny/map.html");
    assert!(page.is_file(), "hebb encode writes map.html");

    // `hebb view` writes it again for a finished run and prints its path.
    std::fs::remove_file(&page).unwrap();
    let out = hebb(&["view", "--run", "outputs/tiny", "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        Path::new("outputs/tiny").join("map.html").to_str().unwrap()
    );
    assert!(page.is_file());

    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI installs chromium; it is not on the PATH");
        eprintln!(
            "note: chromium is not installed (apt-get install chromium); the browser half of this test is skipped"
        );
        return;
    };
    let profile = dir.path().join("profile");
    check_self_test(&browser, &profile, &page, sprites, false);
    let url = format!("file://{}", page.display());

    let shot = dir.path().join("shot.png");
    headless(&browser, &profile, &[&format!("--screenshot={}", shot.display())], &url).unwrap();
    let picture = image::open(&shot).unwrap().to_rgb8();
    // Headless Chromium may prefer either theme: count what differs from both backgrounds.
    let backgrounds = [image::Rgb([22u8, 22, 28]), image::Rgb([244u8, 244, 246])];
    let drawn = picture.pixels().filter(|p| !backgrounds.contains(p)).count() as f64 / picture.pixels().len() as f64;
    assert!(drawn > 0.05, "the screenshot is nearly blank: {:.1}% drawn", drawn * 100.0);

    // The same run's page with its atlases and neighbours as tiles in map/ beside it (as from
    // 100,000 items on by default), written by `hebb view` twice: the second replaces the first.
    let run_config = dir.path().join("outputs/tiny/config.toml");
    let text = std::fs::read_to_string(&run_config).unwrap().replace("html_tiles_from = 100000", "html_tiles_from = 1");
    std::fs::write(&run_config, text).unwrap();
    for _ in 0..2 {
        let out = hebb(&["view", "--run", "outputs/tiny", "--device", "cpu", "--quiet"], dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut tiles: Vec<String> = std::fs::read_dir(dir.path().join("outputs/tiny/map"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    tiles.sort();
    assert_eq!(tiles, ["atlas-8-0.js", "neighbours-0.js"], "one tile per atlas and neighbour chunk");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("outputs/tiny"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".partial-") || name.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let page_text = std::fs::read_to_string(&page).unwrap();
    assert!(!page_text.contains("data:image/"), "the tiled page embeds no atlas");
    check_self_test(&browser, &profile, &page, sprites, true);
}

"""The web console in a real browser: Debian's chromium driven by Playwright.

Each test drives the page the way a person would (typing, selecting, tabbing,
choosing files) against a live console on a loopback port and checks the
figures the page shows against the Python API, so the page adds no arithmetic
of its own. Without playwright or /usr/bin/chromium the tests skip, except
when ``CI`` is set: CI installs both, and a silent skip there would hide a
broken test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
DATA = Path(__file__).parent / "data"
POWER = DATA / "sample_attribution_power.csv"
REQUESTS = DATA / "sample_attribution_requests.csv"
TIMEOUT_MS = 20_000


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed: pip install playwright"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: apt-get install chromium"
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return "the console's dependencies are missing: pip install 'epcore[console]'"
    return None


_WHY = _missing()
if _WHY is not None:
    if os.environ.get("CI"):
        raise RuntimeError(f"browser tests cannot run in CI: {_WHY}")
    pytest.skip(_WHY, allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright  # noqa: E402

from console_server import running_console  # noqa: E402

import epcore  # noqa: E402
from epcore.display import fmt_number  # noqa: E402


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    with running_console() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page and every console error / uncaught exception it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            self.errors.append(f"{msg.type}: {msg.text}")


def open_page(browser: Browser, url: str, width: int = 1280, height: int = 900) -> Watched:
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.set_default_timeout(TIMEOUT_MS)
    w = Watched(ctx.new_page())
    w.page.goto(url)
    w.page.wait_for_selector("html[data-ready=true]")
    return w


@pytest.fixture
def watched(browser: Browser, console_url: str) -> Iterator[Watched]:
    w = open_page(browser, console_url)
    yield w
    errors = list(w.errors)
    w.page.context.close()
    assert errors == [], errors


def calc_cell(page: Page, name: str, col: str = "it") -> Any:
    return page.locator(f'#calc-table tr[data-name="{name}"] [data-col="{col}"]')


def type_seed(page: Page) -> None:
    page.fill("#calc-power_w", "5600")
    page.fill("#calc-tokens_per_s", "2500")
    page.fill("#calc-price_per_kwh", "0.08")


def test_page_loads_clean(watched: Watched, console_url: str) -> None:
    page = watched.page
    expect(page).to_have_title("epcore console")
    assert page.locator('[role="tablist"] [role="tab"]').count() == 7
    expect(page.locator("#tab-calc")).to_have_attribute("aria-selected", "true")
    # Every form control is labelled (<label for=...>).
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select'))
             .filter(e => !e.labels || e.labels.length === 0).map(e => e.id || e.name)"""
    )
    assert unlabelled == []
    # The currency and grid lists come from /api/meta.
    assert page.locator("#calc-currency option").count() > 10
    assert page.locator('#calc-grid option[value="DEU"]').count() == 1
    expect(calc_cell(page, "joules_per_token")).to_have_text("2.24")
    # CSP-safe and offline: no inline script or style, nothing fetched from elsewhere.
    inline = page.evaluate(
        """() => [...document.querySelectorAll('script:not([src]), style, [style]')].length"""
    )
    assert inline == 0
    resources = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(console_url) for r in resources), resources


def test_seed_figures(watched: Watched) -> None:
    page = watched.page
    page.fill("#calc-power_w", "1000")
    expect(calc_cell(page, "joules_per_token")).to_have_text("0.4")
    type_seed(page)
    expect(calc_cell(page, "joules_per_token")).to_have_text("2.24")
    expect(calc_cell(page, "cost_per_million_tokens")).to_have_text("$0.0498")
    expect(calc_cell(page, "cost_per_query")).to_have_text("$0.0000249")
    expect(calc_cell(page, "queries_per_kwh")).to_have_text("3,214.29")
    expect(page.locator("#calc-headline")).to_contain_text("2.24")
    expect(page.locator("#calc-notes")).to_contain_text("IT energy only")
    # PUE above 1 adds the facility column.
    page.fill("#calc-pue", "1.3")
    expect(calc_cell(page, "joules_per_token", "facility")).to_have_text("2.912")
    expect(page.locator("#calc-notes")).to_contain_text("PUE 1.3")


def test_currency_switch_changes_figure_and_rate_line(watched: Watched) -> None:
    page = watched.page
    type_seed(page)
    expect(calc_cell(page, "cost_per_million_tokens")).to_have_text("$0.0498")
    want = {}
    for code in ("BRL", "EUR"):
        r = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, price_currency="USD",
                                currency=code)
        want[code] = epcore.format_money(r.cost_per_million_tokens, code)
    page.select_option("#calc-currency", "BRL")
    expect(calc_cell(page, "cost_per_million_tokens")).to_have_text(want["BRL"])
    notes = page.locator("#calc-notes")
    expect(notes).to_contain_text("BRL")
    expect(notes).to_contain_text("indicative")
    brl_notes = notes.inner_text()
    page.select_option("#calc-currency", "EUR")
    expect(calc_cell(page, "cost_per_million_tokens")).to_have_text(want["EUR"])
    expect(notes).to_contain_text("EUR")
    assert notes.inner_text() != brl_notes


def test_grid_region_and_custom_intensity(watched: Watched) -> None:
    page = watched.page
    page.select_option("#calc-grid", "DEU")
    expect(calc_cell(page, "g_co2_per_query")).not_to_have_text("\u2014")
    expect(page.locator("#calc-notes")).to_contain_text("DEU")
    page.select_option("#calc-grid", "custom")
    expect(page.locator("#calc-grid_g_co2_per_kwh")).to_be_visible()
    page.fill("#calc-grid_g_co2_per_kwh", "400")
    want = fmt_number(epcore.steady_state(power_w=5600, tokens_per_s=2500, grid_g_co2_per_kwh=400).g_co2_per_query)
    expect(calc_cell(page, "g_co2_per_query")).to_have_text(want)


def test_bad_input_shows_one_line_error(browser: Browser, console_url: str) -> None:
    w = open_page(browser, console_url)
    page = w.page
    page.fill("#calc-tokens_per_s", "0")
    err = page.locator("#calc-error")
    expect(err).to_be_visible()
    expect(err).to_contain_text("tokens_per_s")
    expect(page.locator("#calc-tokens_per_s")).to_have_attribute("aria-invalid", "true")
    page.fill("#calc-tokens_per_s", "2500")
    expect(err).to_be_hidden()
    expect(page.locator("#calc-tokens_per_s")).not_to_have_attribute("aria-invalid", "true")
    # The 4xx answer is logged by the browser itself; nothing else may be.
    others = [e for e in w.errors if "Failed to load resource" not in e]
    w.page.context.close()
    assert others == []


def test_sensitivity_bars_follow_inputs(watched: Watched) -> None:
    page = watched.page
    type_seed(page)
    page.click("#tab-sens")
    svg = page.locator("#sens-svg svg")
    expect(svg).to_have_count(1)
    expect(page.locator("#sens-busy")).to_be_hidden()
    before = svg.evaluate("e => e.outerHTML")
    assert page.locator("#sens-table tbody tr").count() >= 2
    page.click("#tab-calc")
    page.select_option("#calc-grid", "custom")
    page.fill("#calc-grid_g_co2_per_kwh", "400")
    page.fill("#calc-pue", "1.5")
    page.click("#tab-sens")
    page.wait_for_function(
        "before => { const s = document.querySelector('#sens-svg svg'); return s && s.outerHTML !== before; }",
        arg=before,
    )
    expect(page.locator("#sens-scenario")).to_contain_text("PUE 1.5")


def test_fleet_floor_crossover_tabs(watched: Watched) -> None:
    page = watched.page
    page.click("#tab-fleet")
    f = epcore.fleet(nodes=1200, power_w_per_node=5600, utilization=0.6, idle_power_w_per_node=1600,
                     tokens_per_s_per_node=2500, pue=1.56, grid_g_co2_per_kwh=400)
    expect(page.locator('#fleet-table tr[data-name="power_mw"]')).to_contain_text(fmt_number(f.facility.power_mw))
    page.fill("#fleet-nodes", "600")
    f2 = epcore.fleet(nodes=600, power_w_per_node=5600, utilization=0.6, idle_power_w_per_node=1600,
                      tokens_per_s_per_node=2500, pue=1.56, grid_g_co2_per_kwh=400)
    expect(page.locator('#fleet-table tr[data-name="power_mw"]')).to_contain_text(fmt_number(f2.facility.power_mw))

    page.click("#tab-floor")
    fl = epcore.api_floor(price_per_mtok=0.60, joules_per_token=2.24)
    want = fmt_number(fl.output.energy_cost_per_mtok)
    expect(page.locator('#floor-table tr[data-name="energy_cost_per_mtok"]')).to_contain_text(want)

    page.click("#tab-xover")
    c = epcore.crossover(training_mwh=1300, queries_per_day=5e7, wh_per_query=0.3, pue=1.1)
    expect(page.locator('#xover-table tr[data-name="days_to_cross"]')).to_contain_text(fmt_number(c.days_to_cross))


def _expected_jpt() -> str:
    a = epcore.attribute(epcore.read_power(POWER), epcore.read_requests(REQUESTS))
    return fmt_number(a.joules_per_output_token)


def run_trace(page: Page) -> None:
    page.click("#tab-trace")
    page.set_input_files("#trace-power", str(POWER))
    page.set_input_files("#trace-requests", str(REQUESTS))
    page.click("#trace-run")
    expect(page.locator("#trace-stage")).to_have_text("Done.")


def test_trace_upload_and_analysis(watched: Watched) -> None:
    page = watched.page
    run_trace(page)
    expect(page.locator("#trace-error")).to_be_hidden()
    expect(page.locator("#trace-headline")).to_contain_text(_expected_jpt())
    expect(page.locator("#trace-svg-power svg")).to_have_count(1)
    assert page.locator("#trace-upload-progress").evaluate("e => e.value === e.max")
    assert page.locator("#trace-analysis-progress").evaluate("e => e.value") == 1
    assert page.locator("#trace-dist tbody tr").count() >= 1
    expect(page.locator("#trace-quality-box")).to_be_visible()


def test_trace_without_file_says_so(watched: Watched) -> None:
    page = watched.page
    page.click("#tab-trace")
    page.click("#trace-run")
    expect(page.locator("#trace-error")).to_contain_text("power trace")


def test_compare_scenarios(watched: Watched) -> None:
    page = watched.page
    type_seed(page)
    expect(calc_cell(page, "joules_per_token")).to_have_text("2.24")
    page.click("#tab-compare")
    page.click("#compare-add")
    page.click("#compare-add")
    expect(page.locator("#compare-list fieldset")).to_have_count(2)
    second = page.locator("#compare-list fieldset").nth(1)
    second.get_by_label("Power, W").fill("2800")
    row = page.locator('#compare-table tr[data-name="joules_per_token"]')
    expect(row.locator('[data-col="s0"] .value')).to_have_text("2.24")
    expect(row.locator('[data-col="s1"] .value')).to_have_text("1.12")
    expect(page.locator("#compare-svg svg")).to_have_count(1)
    page.locator("#compare-list fieldset").nth(0).get_by_role("button", name="Remove").click()
    expect(page.locator("#compare-list fieldset")).to_have_count(1)
    expect(row.locator('[data-col="s0"] .value')).to_have_text("1.12")


def test_url_state_round_trip(browser: Browser, console_url: str, watched: Watched) -> None:
    page = watched.page
    page.fill("#calc-power_w", "7000")
    page.fill("#calc-pue", "1.2")
    page.select_option("#calc-currency", "EUR")
    page.select_option("#calc-grid", "FRA")
    expect(page.locator("#calc-busy")).to_be_hidden()
    page.click("#tab-compare")
    page.click("#compare-add")
    expect(page.locator('#compare-table tr[data-name="joules_per_token"] [data-col="s0"] .value')).to_have_text("2.8")
    page.click("#tab-calc")
    expect(calc_cell(page, "joules_per_token")).to_have_text("2.8")
    rows = page.locator("#calc-table").inner_text()
    url = page.url
    assert "power_w=7000" in url and "tab=calc" in url

    other = open_page(browser, url)
    p2 = other.page
    expect(p2.locator("#calc-power_w")).to_have_value("7000")
    expect(p2.locator("#calc-pue")).to_have_value("1.2")
    expect(p2.locator("#calc-currency")).to_have_value("EUR")
    expect(p2.locator("#calc-grid")).to_have_value("FRA")
    expect(calc_cell(p2, "joules_per_token")).to_have_text("2.8")
    expect(p2.locator("#calc-busy")).to_be_hidden()
    assert p2.locator("#calc-table").inner_text() == rows
    p2.click("#tab-compare")
    expect(p2.locator("#compare-list fieldset")).to_have_count(1)
    assert json.loads(p2.evaluate("new URLSearchParams(location.search).get('compare')"))[0]["power_w"] == 7000
    # The tab is in the URL too.
    p3 = open_page(browser, p2.url)
    expect(p3.page.locator("#tab-compare")).to_have_attribute("aria-selected", "true")
    expect(p3.page.locator("#panel-compare")).to_be_visible()
    errors = other.errors + p3.errors
    other.page.context.close()
    p3.page.context.close()
    assert errors == []


def test_keyboard_tabs(watched: Watched) -> None:
    page = watched.page
    for _ in range(40):  # Tab through the page until the tablist has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "tab":
            break
    else:
        pytest.fail("Tab never reached the tablist")
    assert page.evaluate("document.activeElement.id") == "tab-calc"
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-sens"
    expect(page.locator("#tab-sens")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-sens")).to_be_visible()
    expect(page.locator("#panel-calc")).to_be_hidden()
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.id") == "tab-compare"
    page.keyboard.press("ArrowRight")  # wraps around
    assert page.evaluate("document.activeElement.id") == "tab-calc"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.id") == "tab-compare"
    page.keyboard.press("Home")
    expect(page.locator("#tab-calc")).to_have_attribute("aria-selected", "true")
    # Only the selected tab is in the Tab order; Tab moves on into its panel.
    assert page.locator('[role="tab"][tabindex="0"]').count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "panel-calc"


def _no_overflow(page: Page) -> None:
    sw, iw = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sw <= iw, f"horizontal overflow: scrollWidth {sw} > innerWidth {iw}"


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_and_no_horizontal_scroll(browser: Browser, console_url: str, tmp_path: Path,
                                              width: int) -> None:
    w = open_page(browser, console_url, width=width, height=900 if width > 600 else 844)
    page = w.page
    page.select_option("#calc-grid", "USA")
    page.fill("#calc-pue", "1.3")
    expect(calc_cell(page, "joules_per_token", "facility")).to_have_text("2.912")
    expect(page.locator("#calc-busy")).to_be_hidden()
    _no_overflow(page)
    shot = tmp_path / f"console_{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, f"/tmp/console_{width}.png")
    for tab in ("sens", "fleet", "floor", "xover", "compare"):
        page.click(f"#tab-{tab}")
        expect(page.locator(f"#{tab}-busy")).to_be_hidden()
        if tab == "compare":
            page.click("#compare-add")
            page.click("#compare-add")
            page.locator("#compare-list fieldset").nth(1).get_by_label("Power, W").fill("2800")
            expect(page.locator('#compare-table [data-col="s1"] .value').first).to_have_text("1.12")
        _no_overflow(page)
        page.screenshot(path=str(tmp_path / f"console_{tab}_{width}.png"), full_page=True)
        shutil.copy(tmp_path / f"console_{tab}_{width}.png", f"/tmp/console_{tab}_{width}.png")
    run_trace(page)
    expect(page.locator("#trace-svg-power svg")).to_have_count(1)
    _no_overflow(page)
    page.screenshot(path=str(tmp_path / f"console_trace_{width}.png"), full_page=True)
    shutil.copy(tmp_path / f"console_trace_{width}.png", f"/tmp/console_trace_{width}.png")
    assert shot.stat().st_size > 10_000
    errors = list(w.errors)
    w.page.context.close()
    assert errors == []


def test_hostile_channel_name_stays_text(watched: Watched, tmp_path: Path) -> None:
    # Users' files name the channels: a name that is markup must show as text, never run.
    evil = "<img src=x onerror=window.__pwned=1>"
    power = tmp_path / "evil <b>trace.csv"
    power.write_text("time_s,channel,power_w\n" + "".join(f"{t},{evil},{100 + t}\n" for t in range(10)))
    page = watched.page
    page.click("#tab-trace")
    page.set_input_files("#trace-power", str(power))
    page.click("#trace-run")
    expect(page.locator("#trace-stage")).to_have_text("Done.")
    expect(page.locator("#trace-svg-power svg")).to_have_count(1)
    assert evil in (page.locator("#trace-svg-power svg").text_content() or "")
    assert page.locator("#panel-trace img, #panel-trace script, #panel-trace b").count() == 0
    assert page.evaluate("window.__pwned") is None
    # Without a request log: energy figures, no per-token ones.
    expect(page.locator("#trace-headline")).to_contain_text("total energy")
    expect(page.locator("#trace-headline")).not_to_contain_text("per output token")


def test_unreadable_trace_shows_message_and_hint(watched: Watched, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a power trace\nat all\n")
    page = watched.page
    page.click("#tab-trace")
    page.set_input_files("#trace-power", str(bad))
    page.click("#trace-run")
    err = page.locator("#trace-error")
    expect(err).to_be_visible()
    expect(err.locator("strong")).to_contain_text("notes.txt")
    expect(err.locator(".hint")).not_to_be_empty()
    expect(page.locator("#trace-stage")).to_have_text("Stopped.")
    expect(page.locator("#trace-run")).to_be_enabled()


def test_trace_options_reach_the_analysis(watched: Watched) -> None:
    page = watched.page
    page.click("#tab-trace")
    page.fill("#trace-idle_w", "90")
    page.select_option("#trace-weight", "equal")
    run_trace(page)
    a = epcore.attribute(epcore.read_power(POWER), epcore.read_requests(REQUESTS), idle_w=90, weight="equal")
    expect(page.locator("#trace-headline")).to_contain_text(fmt_number(a.joules_per_output_token))
    expect(page.locator("#trace-headline")).to_contain_text("90")


def test_upload_over_the_limit_is_refused(browser: Browser) -> None:
    with running_console(max_upload_bytes=64) as url:
        w = open_page(browser, url)
        page = w.page
        page.click("#tab-trace")
        page.set_input_files("#trace-power", str(POWER))
        page.click("#trace-run")
        err = page.locator("#trace-error")
        expect(err).to_contain_text("larger than this console accepts")
        expect(err.locator(".hint")).to_contain_text("--max-upload-mb")
        # The server enforces the limit too, whatever the page does.
        status = page.evaluate(
            """async () => (await fetch('/api/uploads?name=x', {method: 'POST', body: 'x'.repeat(200),
                 headers: {'X-Epcore-Token': document.querySelector('meta[name=epcore-token]').content}})).status"""
        )
        assert status == 413
        errors = [e for e in w.errors if "Failed to load resource" not in e]
        w.page.context.close()
        assert errors == []

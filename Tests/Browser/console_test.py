#!/usr/bin/env python3
"""The operations console in a real headless Chromium (Debian's), driven by Playwright.

Run by Tests/BridgeServerTests/ConsoleBrowserTests.swift through scripts/console-browser.sh against a running
`dagbridge serve` whose journal holds live and dead jobs. Every step asserts; the first failure exits 1 with
what was expected and what the page showed. axe-core (bundled by axe-playwright-python) checks every page and
fails on serious or critical violations. Prints one JSON line {"replayed": [...job ids...]} at the end.
"""
import argparse
import json
import os
import re
import sys

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright, expect

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--admin-token", required=True)
p.add_argument("--viewer-token", required=True)
p.add_argument("--screenshots", required=True)
p.add_argument("--late", type=int, required=True, help="dead jobs of rule 'late'")
args = p.parse_args()
base = args.base
axe = Axe()
checked_pages = []


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def audit(page, name):
    """axe-core on the page as it is now; serious and critical violations fail the test."""
    results = axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    if bad:
        detail = "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad)
        fail(f"axe on {name}: {detail}")
    checked_pages.append(name)


def login(context, token):
    page = context.new_page()
    page.goto(base + "/console")
    check(page.url.endswith("/console/login"), f"an anonymous visit should land on the login form, got {page.url}")
    page.get_by_label(re.compile("Token")).fill(token)
    page.get_by_role("button", name="Log in").click()
    return page


def csrf_of(page):
    return page.locator('form.logout input[name="_csrf"]').get_attribute("value")


with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path=os.environ["CONSOLE_CHROMIUM"], args=["--no-sandbox", "--disable-dev-shm-usage"])
    try:
        admin = browser.new_context(viewport={"width": 1280, "height": 900})
        page = admin.new_page()
        # Login: a wrong token is refused with a message; the form is keyboard-usable and labelled.
        page.goto(base + "/console")
        check(page.url.endswith("/console/login"), f"anonymous /console should redirect to the login form, got {page.url}")
        audit(page, "login")
        # Keyboard only: Tab reaches the skip link, then the token field; Enter submits.
        page.keyboard.press("Tab")
        check(page.evaluate("document.activeElement.textContent") == "Skip to content", "the first Tab should reach the skip link")
        page.keyboard.press("Tab")
        check(page.evaluate("document.activeElement.id") == "token", "the second Tab should reach the token field")
        page.keyboard.type("not-the-token-at-all")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("not the admin token")
        page.get_by_label(re.compile("Token")).focus()
        page.keyboard.type(args.admin_token)
        page.keyboard.press("Enter")
        page.wait_for_url(base + "/console")
        check(args.admin_token not in page.content(), "the admin token appears in a page")
        expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        check(int(page.locator("#dlq-size").inner_text().strip()) >= args.late, "the overview's DLQ size is too small")
        check(page.locator("svg.chart").count() == 6, "the overview should draw six charts")
        audit(page, "overview")
        page.screenshot(path=os.path.join(args.screenshots, "console-overview.png"), full_page=True)
        cookies = {c["name"]: c for c in admin.cookies()}
        session = cookies.get("dagbridge_console")
        check(session is not None and session["httpOnly"] and session["sameSite"] == "Strict", f"session cookie flags: {session}")

        # Dead letters: filter by rule, then by reason text.
        page.get_by_role("link", name="Dead letters").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dead letters")
        audit(page, "dead letters")
        page.get_by_label("Rule", exact=True).select_option("late")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#match-count")).to_have_text(f"{args.late} dead jobs match.")
        check(page.locator("table.jobs tbody tr").count() == args.late, "the filtered list should show every late job")
        page.get_by_label("Reason contains").fill("no such reason anywhere")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#match-count")).to_have_text("0 dead jobs match.")
        page.get_by_label("Reason contains").fill("")
        page.get_by_label("Died since").fill("yesterday-ish")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_role("alert")).to_contain_text("cannot read 'yesterday-ish'")
        page.get_by_label("Died since").fill("1h")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#match-count")).to_have_text(f"{args.late} dead jobs match.")
        page.screenshot(path=os.path.join(args.screenshots, "console-dead-letters.png"), full_page=True)

        # Tick two jobs, dry-run a re-rendered replay: the preview says what happens to each, nothing is done yet.
        boxes = page.locator('input[name="ids"]')
        picked = [boxes.nth(0).get_attribute("value"), boxes.nth(1).get_attribute("value")]
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.get_by_label("re-rendered by the current rules").check()
        page.get_by_role("button", name="Preview replay…").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Preview: replay re-rendered by the current rules")
        expect(page.locator("#summary")).to_contain_text("2 of 2 selected jobs would be replayed")
        check(page.locator("table.results tbody tr").count() == 2, "the preview should list the two jobs")
        audit(page, "replay preview")
        # The dry run changed nothing: another tab still lists every late job as dead.
        other = admin.new_page()
        other.goto(base + "/console/dead-letters?rule=late")
        expect(other.locator("#match-count")).to_have_text(f"{args.late} dead jobs match.")
        other.close()
        page.get_by_role("button", name=re.compile("^Replay 2 jobs")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Replayed")
        expect(page.locator("#summary")).to_contain_text("Replayed 2 of 2")
        audit(page, "replay result")

        # Purge: only the dry run (what would go), never confirmed here.
        page.goto(base + "/console/dead-letters?rule=never")
        page.get_by_label(re.compile(r"all \d+\+? matching jobs")).check()
        page.get_by_role("button", name="Preview purge…").click()
        expect(page.locator("#summary")).to_contain_text("1 of 1 selected jobs would be purged")
        audit(page, "purge preview")

        # A job: attempts as a timeline with Airflow's answer, and a link to the run in Airflow.
        page.goto(base + "/console/dead-letters?rule=late")
        remaining = [v for v in page.locator('input[name="ids"]').evaluate_all("els => els.map(e => e.value)") if v not in picked]
        check(remaining, "a late job should still be dead")
        page.get_by_role("link", name=remaining[0], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Job {remaining[0]}")
        check(page.locator("ol.timeline li").count() >= 1, "the job should show its attempts")
        expect(page.locator("ol.timeline li").first).to_contain_text("HTTP 404")
        check(page.get_by_role("link", name="open the run in Airflow").count() == 1, "the job should link to its run in Airflow")
        audit(page, "job")

        # A hostile event body renders as text: no script runs, no element is injected.
        page.goto(base + "/console/dead-letters?rule=hostile")
        page.locator("table.jobs tbody tr a").first.click()
        expect(page.locator("#raw-body")).to_contain_text("<script>window.__pwned = 1</script>")
        check(page.evaluate("window.__pwned") is None, "a script from an event body ran")
        check(page.locator("main script, main img, main iframe").count() == 0, "an element from an event body was injected")
        audit(page, "hostile job")

        # Event lookup, targets, rules and the try-an-event form.
        page.goto(base + "/console/events")
        page.get_by_label("Event id").fill("ev-1")
        page.get_by_role("button", name="Look up").click()
        expect(page.get_by_role("heading", level=2)).to_contain_text("ev-1")
        audit(page, "event lookup")
        page.get_by_role("link", name="Targets").click()
        expect(page.locator("#t-stub")).to_contain_text("closed")
        audit(page, "targets")
        page.get_by_role("link", name="Rules").click()
        page.get_by_label("Body").fill('{"kind": "late", "id": "try-1"}')
        page.get_by_label(re.compile("^Headers")).fill("X-Request-Id: try-1")
        page.get_by_role("button", name="Try it").click()
        expect(page.locator("#trial")).to_contain_text("late → stub")
        expect(page.locator("#trial")).to_contain_text("did not match", ignore_case=True)
        audit(page, "rules")

        # A form post without the CSRF token, and with a forged one, is refused and changes nothing.
        for form in ({"action": "purge", "scope": "all", "mode": "as_sent"}, {"action": "purge", "scope": "all", "_csrf": "forged"}):
            r = admin.request.post(base + "/console/dead-letters/apply", form=form)
            check(r.status == 403 and "CSRF" in r.text(), f"a post without a valid CSRF token answered {r.status}")

        # A viewer sees the dead letters but cannot replay or purge.
        viewer = browser.new_context()
        vpage = login(viewer, args.viewer_token)
        vpage.wait_for_url(base + "/console")
        expect(vpage.locator(".role")).to_contain_text("viewer")
        vpage.goto(base + "/console/dead-letters")
        check(vpage.get_by_role("button", name="Preview replay…").count() == 0, "a viewer is offered replay")
        audit(vpage, "dead letters (viewer)")
        r = viewer.request.post(base + "/console/dead-letters/apply", form={"_csrf": csrf_of(vpage), "action": "replay", "scope": "all", "mode": "as_sent"})
        check(r.status == 403 and "viewer" in r.text(), f"a viewer's replay answered {r.status}")

        # Log out: the session is gone.
        page.goto(base + "/console")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(base + "/console/login")
        page.goto(base + "/console/dead-letters")
        check(page.url.endswith("/console/login"), "after logout the console still answered")
        print(json.dumps({"replayed": [int(x) for x in picked], "pages_checked": checked_pages}))
    finally:
        browser.close()

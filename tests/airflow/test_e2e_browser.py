"""A person's path through the Airflow UI, in Debian's headless chromium: log in on the simple auth
manager's page, open the pending approval under Required Actions, read the candidate's evaluation,
click Approve; the run then deploys and the registry names the person who approved. And the trigger
form: its defaults are valid, so Trigger starts a run with them."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.airflow.cdp import Browser, chromium_path, click_button, fill
from tests.airflow.conftest import E2E_DAG as DAG
from tests.airflow.conftest import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser() -> Browser:
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium here: run infra/airflow/ensure-chromium.sh (apt-get install chromium)")
    b = Browser(path)
    yield b  # type: ignore[misc]
    b.close()


def _log_in(stack: Stack, browser: Browser, page: str) -> None:
    browser.navigate(f"{stack.url}/auth/login?next={quote(stack.url + page, safe='')}")
    browser.wait_for("!!document.querySelector('input[name=password]')", what="the login form")
    assert fill(browser, "input[name=username]", "admin")
    assert fill(browser, "input[name=password]", stack.airflow.password())
    browser.wait_for(
        "(() => { const b = Array.from(document.querySelectorAll('button')).find("
        "x => x.innerText.trim() === 'Sign in'); return b && !b.disabled; })()",
        what="Sign in enabled",
    )
    assert click_button(browser, "Sign in")
    browser.wait_for("document.cookie.includes('_token') || !location.pathname.startsWith('/auth')", what="the login")


def test_log_in_open_the_approval_and_click_approve(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    client, run_id = stack.client, stack.runs["browser"]
    pending = client.wait_for_approval(DAG, run_id, timeout=900)
    page = f"/dags/{DAG}/runs/{quote(run_id, safe='')}/tasks/approval/required_actions"
    _log_in(stack, browser, page)

    browser.navigate(stack.url + page)
    try:
        browser.wait_for(f"document.body.innerText.includes({json.dumps(pending['subject'])})", 90, "the approval")
        browser.wait_for("document.body.innerText.includes('auc')", 30, "the evaluation in the body")
        browser.wait_for(
            "Array.from(document.querySelectorAll('button')).some(b => b.innerText.trim() === 'Approve')",
            30,
            "the Approve button",
        )
        assert click_button(browser, "Approve")
        client.wait_for(
            "the answer",
            lambda: [h for h in client.hitl_details(DAG, run_id) if h.get("response_received")],
            timeout=60,
        )
    except Exception:
        browser.screenshot(tmp_path / "required-actions.png")
        raise
    answered = client.hitl_details(DAG, run_id)[0]
    assert answered["chosen_options"] == ["Approve"]
    assert answered["responded_by_user"]["name"] == "admin"

    run = client.wait_run(DAG, run_id, timeout=600)
    assert run["state"] == "success"
    decision = client.xcom(DAG, run_id, "approval")
    assert decision["approved"] is True and decision["approved_by"] == "admin"


# The dialog's own Trigger button (the page header has one too).
DIALOG_TRIGGER = (
    "Array.from(document.querySelectorAll('[role=dialog] button')).find(b => b.innerText.trim() === 'Trigger')"
)


def test_the_trigger_form_starts_a_run_with_its_defaults(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    client = stack.client
    before = {r["dag_run_id"] for r in client.request("GET", f"/api/v2/dags/{DAG}/dagRuns")["dag_runs"]}
    _log_in(stack, browser, f"/dags/{DAG}")
    browser.navigate(f"{stack.url}/dags/{DAG}")
    try:
        browser.wait_for("document.body.innerText.includes('check_inputs')", 60, "the DAG page")
        assert click_button(browser, "Trigger")
        browser.wait_for(f"!!({DIALOG_TRIGGER})", 30, "the trigger form")
        browser.wait_for(f"!({DIALOG_TRIGGER}).disabled", 30, "the form's defaults to validate")
        browser.evaluate(f"({DIALOG_TRIGGER}).click()")
        new = client.wait_for(
            "the run the form triggered",
            lambda: [
                r
                for r in client.request("GET", f"/api/v2/dags/{DAG}/dagRuns")["dag_runs"]
                if r["dag_run_id"] not in before
            ],
            timeout=60,
        )[0]
    except Exception:
        browser.screenshot(tmp_path / "trigger-form.png")
        raise
    try:
        conf = new["conf"]
        assert conf["algorithm"] == "xgboost" and conf["tuning_strategy"] == "Bayesian", conf
        assert conf["deployment_strategy"] == "canary" and conf["objective"] is None, conf
    finally:  # a full default run is not this test's business: stop it
        client.request(
            "PATCH", f"/api/v2/dags/{DAG}/dagRuns/{quote(new['dag_run_id'], safe='')}", json={"state": "failed"}
        )

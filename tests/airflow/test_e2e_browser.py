"""A person's path through the Airflow UI, in Debian's headless chromium: log in on the simple auth
manager's page, open the pending approval under Required Actions, read the candidate's evaluation,
click Approve; the run then deploys and the registry names the person who approved."""

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


def test_log_in_open_the_approval_and_click_approve(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    client, run_id = stack.client, stack.runs["browser"]
    pending = client.wait_for_approval(DAG, run_id, timeout=900)
    page = f"/dags/{DAG}/runs/{quote(run_id, safe='')}/tasks/approval/required_actions"

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

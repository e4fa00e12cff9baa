"""The JSON API answers with exactly what the CLI's --json prints, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from recorder.cli import main
from recorder.web.app import CSP, create_app
from tests.query.runs import record_demo


def cli_json(url: str, *args: str) -> object:
    result = CliRunner().invoke(main, ["--db", url, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        yield c


def test_flows_flow_stats_and_compare_match_the_cli(db_url: str, client: TestClient) -> None:
    first = record_demo(db_url)
    second = record_demo(db_url, fails=False)
    flows = client.get("/api/flows").json()
    assert flows == cli_json(db_url, "flows", "--json", "--limit", "50")
    assert [f["uuid"] for f in flows["flows"]] == [second, first]
    assert client.get("/api/flows/%s" % first).json() == cli_json(db_url, "show", first, "--json")
    assert client.get("/api/stats").json() == cli_json(db_url, "stats", "--json")
    compared = client.get("/api/flows/%s/compare?against=%s" % (second, first)).json()
    assert compared == cli_json(db_url, "compare", second, first, "--json")
    history = client.get("/api/flows/%s/compare" % second).json()
    assert history == cli_json(db_url, "compare", second, "--json")
    assert history["against"] == {"kind": "history", "name": "order-fulfilment", "runs": 1}
    by_name = {a["name"]: a for a in history["atoms"]}
    # The first run's courier failed; this one's did not: nothing newly fails.
    assert not any(a["newly_failing"] for a in history["atoms"])
    assert by_name["book-courier"]["failures"] == 0


def test_keyset_pages_keep_the_filters(db_url: str, client: TestClient) -> None:
    uuids = [record_demo(db_url, fails=i == 1) for i in range(3)]
    page = client.get("/api/flows?limit=1&state=success").json()
    assert [f["uuid"] for f in page["flows"]] == [uuids[2]]
    rest = client.get("/api/flows?limit=1&state=SUCCESS&after=%s" % page["next"]).json()
    assert [f["uuid"] for f in rest["flows"]] == [uuids[0]]  # uuids[1] was REVERTED
    assert rest["next"] is None
    assert rest == cli_json(
        db_url, "flows", "--json", "--limit", "1", "--state", "SUCCESS", "--after", page["next"]
    )


def test_errors_are_one_line_json_with_a_status(client: TestClient) -> None:
    missing = client.get("/api/flows/no-such-flow")
    assert missing.status_code == 404 and "no flow matches" in missing.json()["error"]
    bad = client.get("/api/flows?since=yesterday-ish")
    assert bad.status_code == 400 and "since" in bad.json()["error"]
    token = client.get("/api/flows?after=nonsense")
    assert token.status_code == 400 and "page token" in token.json()["error"]
    page = client.get("/flows/no-such-flow")
    assert page.status_code == 404 and "no flow matches" in page.text


def test_read_only_and_every_response_carries_the_policy(db_url: str, client: TestClient) -> None:
    uuid = record_demo(db_url)
    for path in ("/", "/flows/%s" % uuid, "/names/order-fulfilment", "/api/flows"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == CSP
        assert "http://" not in response.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in response.text
    assert client.post("/api/flows").status_code == 405
    assert client.get("/assets/../../pyproject.toml").status_code == 404
    assert client.get("/assets/secret.py").status_code == 404


def test_a_foreign_host_header_is_refused(db_url: str) -> None:
    from recorder.web.app import loopback_hosts

    app = create_app(db_url, allowed_hosts=loopback_hosts("127.0.0.1"))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/flows").status_code == 200
        assert c.get("/api/flows", headers={"host": "evil.example"}).status_code == 400


def test_the_server_cannot_write(db_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from recorder.web.reader import Reader

    reader = Reader(db_url)
    try:
        with reader.connection() as conn, pytest.raises(DBAPIError):
            conn.execute(text("DELETE FROM flow_details"))
    finally:
        reader.close()

"""The flow file loader: the shipped flow loads, and every mistake is bad input naming file:line."""

from __future__ import annotations

import re

import pytest

from orchestrator.errors import BadInput
from orchestrator.ops.flows import loader
from tests.unit.helpers import write

GOOD = """\
name: tiny
secrets: [ADMIN_PASSWORD]
actors:
  admin: {role: admin, email: a@b.c, password: "{{ secrets.ADMIN_PASSWORD }}"}
  user: {role: buyer, count: 2}
known_gaps:
  - {id: seen, defect: some_defect}
modes:
  live: [login, act]
  status: [login]
phases:
  login:
    - step: admin logs in
      method: POST
      path: /api/auth/login
      json: {email: "{{ admin.email }}", password: "{{ admin.password }}"}
      capture: {admin.token: $.token}
  act:
    - step: create
      as: admin
      method: POST
      path: /api/things
      status: [200, 201]
      capture: {thing_id: "$.items[0].id"}
    - checkpoint: seen
      for_each: [user1, user2]
      find: {type: thing.created, relatedId: "{{ thing_id }}"}
"""


def load_text(tmp_path, text):
    return loader.load(write(tmp_path / "flow.yml", text))


def test_the_shipped_marketplace_flow_loads_with_its_modes_and_known_gaps():
    flow = loader.load(loader.resolve("marketplace"))
    assert set(flow.modes) == {"live", "record", "status"} and flow.default_mode == "live"
    assert set(flow.known_gaps) == {"accepted-related-id", "legacy-payments"}
    assert "delivery-sent" in flow.checkpoint_ids() and "delivery-sent" not in flow.known_gaps
    assert list(flow.actors) == ["admin", "buyer", "seller1", "seller2"]
    status_steps = flow.steps("status")
    assert all(s.method == "GET" or s.path == "/api/auth/login" for s in status_steps)  # read-only


def test_a_good_flow_loads(tmp_path):
    flow = load_text(tmp_path, GOOD)
    assert flow.default_mode == "live" and list(flow.actors) == ["admin", "user1", "user2"]
    assert flow.steps("live")[1].route == "POST /api/things"


@pytest.mark.parametrize(("change", "line", "message"), [
    (("name: tiny", "name: tiny\nnmae: x"), 2, "unknown flow key 'nmae'"),
    (("      method: POST\n      path: /api/things", "      method: PUSH\n      path: /api/things"), 21,
     "method 'PUSH'"),
    (("status: [200, 201]", "status: [200, ok]"), 23, "`status` must be an HTTP status"),
    (('capture: {thing_id: "$.items[0].id"}', 'capture: {thing_id: "$.items[*].id"}'), 24, "JSON path"),
    (("as: admin", "as: admn"), 20, "`as: admn` is not an actor (did you mean 'admin'?)"),
    (("for_each: [user1, user2]", "for_each: [user1, user3]"), 26, "for_each names 'user3'"),
    (('relatedId: "{{ thing_id }}"', 'relatedId: "{{ thing_idd }}"'), 25, "uses thing_idd, which no earlier step"),
    (("{id: seen,", "{id: sen,"), 7, "known gap 'sen' names no checkpoint"),
    (("live: [login, act]", "live: [login, akt]"), 9, "phase 'akt', which the flow lacks"),
    (("    - checkpoint: seen", "    - chekpoint: seen"), 25, "a step needs `step`"),
    (('relatedId: "{{ thing_id }}"', 'relatedId: "{{ thing_id }"'), 25, "syntax error"),
    (("path: /api/things", "path: api/things"), 22, "must start with /"),
    (("count: 2}", "count: 0}"), 5, "`count` must be a whole number >= 1"),
])
def test_mistakes_name_file_and_line(tmp_path, change, line, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(BadInput) as err:
        load_text(tmp_path, GOOD.replace(old, new, 1))
    text = str(err.value)
    assert re.search(rf"flow\.yml:{line}\b", text), text
    assert message in text, text


def test_a_capture_used_before_it_is_made_is_refused_per_mode(tmp_path):
    text = GOOD.replace("  status: [login]", "  status: [login]\n  backwards: [login, only_check]")
    text += "  only_check:\n    - checkpoint: other\n      actor: admin\n      find: {relatedId: '{{ thing_id }}'}\n"
    with pytest.raises(BadInput, match=r"flow\.yml:\d+ \(mode backwards\): the template uses thing_id"):
        load_text(tmp_path, text)


def test_a_checkpoint_id_used_twice_is_refused(tmp_path):
    text = GOOD + "    - checkpoint: seen\n      actor: admin\n      find: {type: x}\n"
    with pytest.raises(BadInput, match=r"flow\.yml:\d+: checkpoint id 'seen' is already used at .*flow\.yml:25"):
        load_text(tmp_path, text)


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(BadInput, match=r"flow\.yml:4: invalid YAML"):
        load_text(tmp_path, "name: x\nactors:\n  a: [\n")


def test_unknown_flow_name_lists_the_flows():
    with pytest.raises(BadInput, match=r"no .*marketplac\.yml \(did you mean 'marketplace'\?\)"):
        loader.resolve("marketplac")

"""The push service: delay, nothing to offline phones, store-and-forward, mutants."""

from sim_helpers import of, run, verdicts

DAY = """
name: push-test
policy: planado
duration: 1200
settle: 0
devices:
  - id: w1
    link: wifi
    timeline:
      - {t: 0, app: opened}
      - {t: 100, link: offline}
      - {t: 300, link: wifi}
  - id: w2
    link: wifi
    push: false
    timeline:
      - {t: 0, app: opened}
dispatch:
  - {t: 50, op: create, record: job-1, assignee: w1}
  - {t: 200, op: edit, record: job-1, assignee: w1}
  - {t: 250, op: create, record: job-2, assignee: w2}
push:
  delay: {dist: uniform, low: 0.5, high: 1.5}
"""


def test_push_arrives_after_the_drawn_delay():
    _, ev = run(DAY)
    sent = of(ev, "srv_push", dev="w1", record="job-1")
    got = of(ev, "push", dev="w1", record="job-1")
    assert len(sent) == 2
    assert len(got) == 1  # the one sent at 200 hit an offline phone
    assert 0.5 <= got[0]["t"] - sent[0]["t"] <= 1.5


def test_nothing_reaches_an_offline_phone_by_default():
    res, ev = run(DAY)
    assert not [e for e in of(ev, "push") if 100 <= e["t"] < 300]
    assert verdicts(res)["planado.offline_no_push"] == "pass"


def test_store_and_forward_delivers_on_reconnect_within_ttl():
    text = DAY.replace("  delay: {dist: uniform, low: 0.5, high: 1.5}",
                       "  delay: {dist: uniform, low: 0.5, high: 1.5}\n  ttl: 600")
    _, ev = run(text)
    late = [e for e in of(ev, "push", dev="w1") if e["t"] == 300]
    assert len(late) == 1
    expired = DAY.replace("  delay: {dist: uniform, low: 0.5, high: 1.5}",
                          "  delay: {dist: uniform, low: 0.5, high: 1.5}\n  ttl: 50")
    _, ev = run(expired)
    assert not [e for e in of(ev, "push", dev="w1") if e["t"] == 300]


def test_a_phone_with_notifications_off_sees_no_push():
    res, ev = run(DAY)
    assert of(ev, "srv_push", dev="w2") and not of(ev, "push", dev="w2")
    assert verdicts(res)["planado.push_delivered"] == "fail"


def test_push_mutants():
    res, ev = run(DAY.replace("push:\n", "push:\n  mutant: push_to_offline\n"))
    assert verdicts(res)["planado.offline_no_push"] == "fail"
    res, ev = run(DAY.replace("push:\n", "push:\n  mutant: push_drops\n"))
    assert not of(ev, "push")

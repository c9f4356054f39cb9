"""playmaker.no_auto_download: web changes arrive only through a manual sync."""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class NoAutoDownload(Rule):
    id = "playmaker.no_auto_download"
    title = "Web changes arrive only by manual sync"
    source = "the mobile device won't see the new record yet... does not update automatically"
    statement = (
        "Every `recv` belongs to a sync (its `sync` field, else the sync in progress) whose "
        "trigger is `manual`; a `recv` outside any sync fails."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        # Triggers of every sync seen, per device: a recv may name a sync that has ended.
        self._trigger: dict[tuple[str, str], str] = {}

    def on_sync_start(self, ev, ds) -> None:
        self._trigger[(ds.dev, ev["sync"])] = ev["trigger"]

    def on_recv(self, ev, ds) -> None:
        t = ev["t"]
        sid = ev.get("sync")
        if sid is None:
            if not ds.syncs:
                self.fail(t, ds.dev, f"recv of {ev['record']} at {fmt_t(t)} outside any sync")
                return
            # "its sync field, else the sync in progress": with several in
            # progress the trace does not say which one the recv belongs to; it
            # passes if any of them is manual, else it is judged by the latest.
            manual = [s for s, (_, trig) in ds.syncs.items() if trig == "manual"]
            sid = manual[0] if manual else max(ds.syncs, key=lambda s: ds.syncs[s][0])
        trigger = self._trigger.get((ds.dev, sid))
        if trigger == "manual":
            self.passed()
        elif trigger is None:
            self.fail(t, ds.dev, f"recv of {ev['record']} at {fmt_t(t)} names unknown sync {sid}")
        else:
            self.fail(t, ds.dev, f"recv of {ev['record']} at {fmt_t(t)} in sync {sid} triggered by {trigger}, not manual")

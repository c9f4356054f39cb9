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
        if sid is None and ds.syncs:
            sid = max(ds.syncs, key=lambda s: ds.syncs[s][0])  # the latest sync in progress
        if sid is None:
            self.fail(t, ds.dev, f"recv of {ev['record']} at {fmt_t(t)} outside any sync")
            return
        trigger = self._trigger.get((ds.dev, sid))
        if trigger == "manual":
            self.passed()
        elif trigger is None:
            self.fail(t, ds.dev, f"recv of {ev['record']} at {fmt_t(t)} names unknown sync {sid}")
        else:
            self.fail(t, ds.dev, f"recv of {ev['record']} at {fmt_t(t)} in sync {sid} triggered by {trigger}, not manual")

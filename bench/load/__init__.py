"""Server load with Locust: fleets of devices, capacity, CI gates (docs/load.md).

Theory of operation: the only package of the project that imports ``locust``
(which monkey-patches the standard library with gevent on import), and only in
three modules; the rest stays importable without it::

    config    LoadConfig: every flag, once                      (no Locust)
    profiles  steady / storm / burst moments                    (no Locust)
    behaviour the person: acts, photos                          (no Locust)
    device    LoadDevice: the sans-I/O engine over a transport  (no Locust)
    setup     server subprocess, provisioning, seeded jobs      (no Locust)
    gates     --p99-ms / --max-fail-ratio / --min-rps           (no Locust)
    series    per-second figures from stats snapshots           (no Locust)
    cpu       is the generator saturated?                       (no Locust)
    capacity  double-then-bisect search                         (no Locust)
    report    plots, load.json, index.html                      (no Locust)
    main      run_load: setup -> runner -> gates -> report      (imports runner when called)
    users     DeviceUser, DispatcherUser, message handlers      (Locust)
    runner    local or master runner, CSV, HTML, sampling, CPU  (Locust)
    locustfile  what a worker process loads                     (Locust)

This ``__init__`` imports nothing, so ``import bench.load.config`` never
patches the caller.
"""

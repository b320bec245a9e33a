from mfapp.scheduling import apis

routes = [
    ("schedule-runs", apis.ScheduleRunViewSet, "schedule-run"),
]

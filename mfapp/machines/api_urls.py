from mfapp.machines import apis

routes = [
    ("machines", apis.MachineViewSet, "machine"),
    ("maintenance-windows", apis.MaintenanceWindowViewSet, "maintenance-window"),
    ("energy-readings", apis.EnergyReadingViewSet, "energy-reading"),
]

"""What a machine can do, and what a routing step needs. One list for the whole platform."""

from django.db import models


class Capability(models.TextChoices):
    FDM_PRINT = "fdm-print", "FDM printing"
    SLA_PRINT = "sla-print", "SLA/resin printing"
    SLS_PRINT = "sls-print", "SLS powder printing"
    CNC_MILL_3AXIS = "cnc-mill-3axis", "CNC milling, 3-axis"
    CNC_MILL_5AXIS = "cnc-mill-5axis", "CNC milling, 5-axis"
    CNC_LATHE = "cnc-lathe", "CNC turning"
    LASER_CUT = "laser-cut", "Laser cutting"
    LASER_ENGRAVE = "laser-engrave", "Laser engraving"
    SHEET_BEND = "sheet-bend", "Sheet bending"
    PICK_PLACE = "pick-place", "Pick and place"
    SOLDER = "solder", "Soldering / reflow"
    ASSEMBLY = "assembly", "Assembly"
    POST_PROCESS = "post-process", "Post-processing (support removal, curing, sanding)"
    FINISHING = "finishing", "Finishing (paint, coat)"
    INSPECTION = "inspection", "Inspection"
    PACKAGING = "packaging", "Packaging"

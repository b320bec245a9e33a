"""Load the default emission factors from mfapp/sustainability/data/factors/*.csv."""

from django.db import migrations


def load(apps, schema_editor):
    from mfapp.sustainability.factor_data import load_factors

    load_factors(apps.get_model("sustainability", "EmissionFactor"))


def unload(apps, schema_editor):
    apps.get_model("sustainability", "EmissionFactor").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sustainability", "0001_initial"),
    ]

    operations = [migrations.RunPython(load, unload)]

from typing import Any

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# Every periodic job of the platform, in one place (run by beat's database scheduler).
# name: (task, crontab fields) -- https://crontab.guru to read them.
PERIODIC_TASKS = {
    "Resume overdue webhook deliveries": (
        "mfapp.integrations.webhook_deliveries_resume",
        {"minute": "*/5"},  # every five minutes
    ),
    "Purge expired idempotency records": (
        "mfapp.integrations.idempotency_records_purge",
        {"minute": "17", "hour": "3"},  # daily at 03:17 UTC
    ),
    "Monthly sustainability reports": (
        "mfapp.sustainability.generate_monthly_reports",
        {"minute": "5", "hour": "12", "day_of_month": "1"},  # the 1st, 12:05 UTC
    ),
}


class Command(BaseCommand):
    help = "Create or update every periodic task in the beat schedule. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, (task, cron) in PERIODIC_TASKS.items():
            schedule, _ = CrontabSchedule.objects.get_or_create(
                minute=cron.get("minute", "*"),
                hour=cron.get("hour", "*"),
                day_of_month=cron.get("day_of_month", "*"),
                month_of_year=cron.get("month_of_year", "*"),
                day_of_week=cron.get("day_of_week", "*"),
                timezone="UTC",
            )
            _, created = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "crontab": schedule, "enabled": True}
            )
            self.stdout.write(f"{'Created' if created else 'Updated'}: {name} ({task})")

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0004_incident_text_vector"),
    ]

    operations = [
        migrations.AddField(
            model_name="actionitem",
            name="overdue_notified_for",
            field=models.DateField(blank=True, null=True),
        ),
    ]

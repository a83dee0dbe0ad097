from django.db import migrations

ROLES = ["responder", "reviewer", "editor", "manager", "admin"]


def create_roles(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for name in ROLES:
        group_model.objects.get_or_create(name=name)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("kbsite", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]

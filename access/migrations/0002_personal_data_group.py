from django.db import migrations


def create_personal_data_group(apps, schema_editor):
    from access.groups import ensure_personal_data_group

    ensure_personal_data_group(apps)


def delete_personal_data_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="personal_data").delete()


class Migration(migrations.Migration):
    dependencies = [("access", "0001_viewer_group")]

    operations = [migrations.RunPython(create_personal_data_group, delete_personal_data_group)]

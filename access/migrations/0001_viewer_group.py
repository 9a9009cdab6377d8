from django.db import migrations


def create_viewer_group(apps, schema_editor):
    from access.groups import ensure_viewer_group

    ensure_viewer_group(apps)


def delete_viewer_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="viewer").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_viewer_group, delete_viewer_group)]

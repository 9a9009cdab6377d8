"""Production static files: collectstatic's compressed, hashed files served by WhiteNoise."""

import gzip
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings

WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
MANIFEST = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def production_settings(static_root: Path) -> override_settings:
    """Settings as with DEBUG off: collected files in `static_root`, WhiteNoise in front."""
    return override_settings(
        STATIC_ROOT=static_root,
        STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}},
        MIDDLEWARE=[settings.MIDDLEWARE[0], WHITENOISE, *settings.MIDDLEWARE[1:]],
    )


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """Run collectstatic once (compressing every file takes a while)."""
    static_root = tmp_path_factory.mktemp("static")
    with production_settings(static_root):
        call_command("collectstatic", "--no-input", verbosity=0)
    return static_root


@pytest.fixture
def production_static(collected):
    with production_settings(collected):
        yield collected


@pytest.mark.parametrize(
    "name",
    [
        "admin/css/base.css",
        "rest_framework/css/bootstrap.min.css",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    ],
)
def test_collected_files_are_hashed_compressed_and_served(production_static, name):
    url = static(name)
    assert url != f"/static/{name}"  # the name carries the file's hash

    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert gzip.decompress(b"".join(response.streaming_content))


def test_the_admin_login_page_links_the_hashed_stylesheet(production_static, db):
    page = Client().get("/admin/login/").content.decode()

    assert static("admin/css/base.css") in page

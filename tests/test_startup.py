"""What a worker loads at start-up: the libraries only a few routes use wait for their route."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ON_USE = ("reportlab", "qrcode", "icalendar", "xlsxwriter", "openpyxl", "zxcvbn")  # PIL: Flask-Admin imports it


def test_the_app_starts_without_the_libraries_of_a_few_routes(tmp_path):
    script = (
        "import json, sys\n"
        "from app import create_app\n"
        f"create_app({{'DATABASE_URL': 'sqlite:///{tmp_path / 'x.db'}', 'SECRET_KEY': 'x'}})\n"
        f"print(json.dumps([m for m in {ON_USE!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

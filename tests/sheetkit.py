"""Helpers for the spreadsheet tests: workbooks made with openpyxl as a clerk would, uploads
through the admin, and what the import pages show."""
import io
import re
from html import unescape

from openpyxl import Workbook, load_workbook

from models import ImportJob


def xlsx(rows, sheet="Sheet1"):
    """The bytes of a workbook whose first sheet holds ``rows`` (lists of cell values)."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8-sig"):
    import csv

    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def read_xlsx(data):
    """[[cell values]] of the first sheet, and the workbook (for its other sheets)."""
    book = load_workbook(io.BytesIO(data))
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)], book


def multipart(data, filename, field="file", extra=None):
    """A multipart/form-data body in memory (the test client would spool a large one to a
    temporary file it never closes): (body, content type)."""
    boundary = "----alliance-sheet-test"
    parts = []
    for name, value in (extra or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client, endpoint, data, filename="名册.xlsx"):
    """POST a file to /admin/<endpoint>/import/; the response (redirect to the job page or a page)."""
    body, content_type = multipart(data, filename)
    return client.post(f"/admin/{endpoint}/import/", data=body, content_type=content_type)


def job_of(response):
    match = re.search(r"/import/(\d+)/", response.headers.get("Location", ""))
    assert match, (response.status_code, response.headers.get("Location"), response.get_data(as_text=True)[:500])
    return ImportJob.get_by_id(int(match.group(1)))


def upload_and_check(client, endpoint, data, filename="名册.xlsx"):
    """Upload, follow to the job page; (job, page html)."""
    from services import imports

    response = upload(client, endpoint, data, filename)
    assert response.status_code == 303, (response.status_code, flashes_of(response.get_data(as_text=True)))
    job = job_of(response)
    imports.wait_for_background()  # files above IMPORT_INLINE_BYTES are checked in a thread
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return ImportJob.get_by_id(job.id), page.get_data(as_text=True)


def confirm(client, endpoint, job):
    from services import imports

    response = client.post(f"/admin/{endpoint}/import/{job.id}/confirm")
    assert response.status_code == 303, response.status_code
    imports.wait_for_background()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return ImportJob.get_by_id(job.id), page


def summary(html):
    """"N 新增 / N 修改 / N 未变" as shown on the job page."""
    found = {key: int(re.search(rf'id="count-{key}">(\d+) ', html).group(1))
             for key in ("created", "updated", "unchanged")}
    return found


def problems(html):
    """[(row, column, message)] from the job page's problem table."""
    table = re.search(r'<table[^>]*id="import-problems".*?</table>', html, re.S)
    if not table:
        return []
    out = []
    for row, column, message in re.findall(r"<tr><td>第 (\d+) 行</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(0), re.S):
        out.append((int(row), unescape(column), unescape(message)))
    return out


def flashes_of(html):
    return [" ".join(re.sub(r"<[^>]+>", " ", unescape(m)).replace("×", "").split())
            for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)]

"""Reading a clerk's spreadsheet (XLSX, or CSV in UTF-8 or GB18030) row by row, safely.

Untrusted files meet four guards before a row is read:
- the type is taken from the bytes, not the name: a zip that is an XLSX workbook, an OLE file
  (an encrypted XLSX or an old .xls: both refused with what to do), or text;
- an XLSX is opened only when its archive is small enough when unpacked (zip bombs), and its
  XML is parsed by openpyxl through defusedxml (entity expansion);
- rows stream: openpyxl in read-only mode (ignoring the sheet's declared dimensions, which may
  claim a million rows), csv over an incremental decoder; at most ``max_rows`` physical rows
  (blank ones included) and ``MAX_COLUMNS`` columns are looked at, so neither time nor memory
  grows with what the file pretends;
- formulas are never evaluated: a formula cell comes back as its text, marked ``Formula``.

Every refusal is a ``SpreadsheetError`` with a Chinese message for the clerk.
"""
import codecs
import csv
import io
import zipfile

from .errors import ServiceError

MAX_COLUMNS = 100
MAX_MEMBERS = 2000
MAX_UNPACKED = 200 * 1024 * 1024  # an XLSX's XML, unzipped
MAX_RATIO = 200  # unpacked ÷ packed for one member beyond 1 MB: a bomb, not a sheet
EXCEL_CELL_MAX = 32767  # what Excel itself allows in one cell

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"MZ")


class SpreadsheetError(ServiceError):
    """The file as a whole cannot be read; nothing was written."""


class Formula(str):
    """The text of a formula cell, which the platform never evaluates."""


def kind_of(data):
    """"xlsx" or "csv" from the file's bytes, else a SpreadsheetError saying what it is."""
    if not data:
        raise SpreadsheetError("文件是空的，请选择填好的 .xlsx 或 .csv 表格。")
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data[:1024 * 1024] or b"EncryptedPackage" in data[:1024 * 1024]:
            raise SpreadsheetError("这个 Excel 文件设置了打开密码（已加密），平台无法读取。"
                                   "请在 Excel 中取消密码后另存为 .xlsx 再上传。")
        raise SpreadsheetError("这是旧版 Excel 文件（.xls），请在 Excel 或 WPS 中“另存为”.xlsx 后再上传。")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"  # encoding_of says what to do with it
    head = data[:8192]
    if head.startswith(BINARY_MAGIC) or b"\x00" in head:
        raise SpreadsheetError("这不是表格文件。请上传 Excel 表格（.xlsx）或 CSV 文件。")
    return "csv"


def read_rows(data, *, max_rows):
    """(row number, [cell values]) for every row of the first sheet, blank rows included.

    Cell values are None, str (``Formula`` for formula cells), int, float, bool,
    datetime.date or datetime.datetime. Raises SpreadsheetError.
    """
    kind = kind_of(data)
    rows = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    for number, cells in rows:
        if number > max_rows:
            raise SpreadsheetError(f"表格超过 {max_rows:,} 行（空行也计算在内）。"
                                   "如果表格末尾有大量空行，请删除这些空行后再上传；数据较多时请分成几个文件。")
        yield number, cells


# --- XLSX -----------------------------------------------------------------------------

def _open_workbook(data):
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise SpreadsheetError("Excel 文件已损坏，无法打开。请在 Excel 中重新保存为 .xlsx 后再上传。")
    if len(members) > MAX_MEMBERS:
        raise SpreadsheetError("这个压缩文件包含的内容过多，不是正常的 Excel 表格。")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED or any(
            m.file_size > 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1) for m in members):
        raise SpreadsheetError("这个文件解压后异常巨大（疑似“压缩炸弹”），已拒绝读取。请上传正常的 Excel 表格。")
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise SpreadsheetError("这个压缩文件不是 Excel 表格（.xlsx）。Word、WPS 文字等文件不能导入。")
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception:  # openpyxl raises many kinds for broken parts (KeyError, XML errors, …)
        raise SpreadsheetError("Excel 文件已损坏或格式不正确，无法读取。请在 Excel 中重新保存为 .xlsx 后再上传。")


def _xlsx_rows(data):
    workbook = _open_workbook(data)
    try:
        if not workbook.worksheets:
            raise SpreadsheetError("Excel 文件中没有工作表。")
        sheet = workbook.worksheets[0]
        if not hasattr(sheet, "reset_dimensions"):
            raise SpreadsheetError("第一个工作表是图表，不是数据表。请把数据放在第一个工作表中。")
        sheet.reset_dimensions()  # the declared size may claim a million rows; read what is there
        try:
            for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
                yield number, [_xlsx_value(cell) for cell in row]
        except SpreadsheetError:
            raise
        except Exception:
            raise SpreadsheetError("Excel 文件内容已损坏，读取到一半无法继续。请在 Excel 中重新保存后再上传。")
    finally:
        workbook.close()


def _xlsx_value(cell):
    value = cell.value
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "f" and isinstance(value, str):
        return Formula(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)) or hasattr(value, "year"):
        return value
    return str(value)  # e.g. an ArrayFormula or a time: as text


# --- CSV ------------------------------------------------------------------------------

def encoding_of(data):
    """utf-8-sig / utf-8 / gb18030: the first that decodes the whole file."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SpreadsheetError("这个 CSV 是 UTF-16 编码（Excel 的“Unicode 文本”）。"
                               "请另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。")
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(data), 1 << 20):
                decoder.decode(data[start:start + (1 << 20)])
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError("无法识别 CSV 文件的编码。请保存为 UTF-8 或 GB18030（GBK）编码，或直接上传 .xlsx。")


def _csv_rows(data):
    encoding = encoding_of(data)
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    first = text.readline()
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise SpreadsheetError(f"第 {number + 1} 行无法解析：单元格内容过长或引号不配对。请检查后再上传。")
        number += 1
        yield number, [cell if cell != "" else None for cell in row[:MAX_COLUMNS]]

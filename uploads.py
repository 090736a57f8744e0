"""Attachments: which files we accept, how their names are cleaned, where they are kept.

A file is accepted when its extension is on the allowlist *and* its first bytes are what
that extension promises (a PDF starts with %PDF-, a PNG with its signature, and so on), so a
script renamed to .pdf is refused. Files are stored under UPLOAD_DIR with random names; the
original name, cleaned of paths, control and bidi characters, is kept for display only.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from dataclasses import dataclass

from flask import current_app
from werkzeug.datastructures import FileStorage

from formatting import file_size

ZIP = (b"PK\x03\x04",)
OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
# extension: (content type, accepted first bytes; None = text, checked separately)
TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)),
    "heic": ("image/heic", (b"ftyp",)),
    "pdf": ("application/pdf", (b"%PDF-",)),
    "doc": ("application/msword", OLE),
    "xls": ("application/vnd.ms-excel", OLE),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", ZIP),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
}
ACCEPT = ",".join(f".{ext}" for ext in TYPES)
MAX_NAME = 100


@dataclass
class Upload:
    file: FileStorage
    name: str  # cleaned, for display
    content_type: str
    size: int
    stored_name: str = ""


class UploadError(ValueError):
    """What is wrong with the files, in Portuguese, for the form."""


def clean_name(raw: str | None) -> str:
    """A display name: no folders, no control or direction-changing characters, not too long."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if len(name) > MAX_NAME:
        stem = stem[: MAX_NAME - len(ext) - 1].rstrip(" .")
        name = f"{stem}.{ext}" if ext else stem
    return name or "anexo"


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _looks_like(head: bytes, ext: str) -> bool:
    content_type, signatures = TYPES[ext]
    if signatures is None:
        if b"\x00" in head:
            return False
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 3:
                try:
                    head.decode("cp1252")
                except UnicodeDecodeError:
                    return False
        return True
    if ext == "heic":
        return head[4:8] == b"ftyp"
    if ext == "webp":
        return head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    return any(head.startswith(s) for s in signatures)


def _size(file: FileStorage) -> int:
    stream = file.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def check(files: list[FileStorage]) -> list[Upload]:
    """The acceptable uploads among `files`, or UploadError naming each problem."""
    config = current_app.config
    chosen = [f for f in files if f and f.filename]
    if len(chosen) > config["MAX_ATTACHMENTS"]:
        raise UploadError(f"Envie no máximo {config['MAX_ATTACHMENTS']} arquivos por vez.")
    problems, uploads = [], []
    limit = config["MAX_ATTACHMENT_BYTES"]
    for file in chosen:
        name = clean_name(file.filename)
        ext = _extension(name)
        size = _size(file)
        if ext not in TYPES:
            problems.append(f"{name}: tipo de arquivo não aceito (use imagens, PDF, documentos "
                            "do Office ou LibreOffice, ou texto).")
        elif size == 0:
            problems.append(f"{name}: o arquivo está vazio.")
        elif size > limit:
            problems.append(f"{name}: tem {file_size(size)}; o limite é {file_size(limit)} por arquivo.")
        elif not _looks_like(file.stream.read(2048), ext):
            problems.append(f"{name}: o conteúdo não corresponde a um arquivo .{ext}.")
        else:
            uploads.append(Upload(file=file, name=name, content_type=TYPES[ext][0], size=size))
        file.stream.seek(0)
    if problems:
        raise UploadError(" ".join(problems))
    return uploads


def store(uploads: list[Upload]) -> list[str]:
    """Write the files under UPLOAD_DIR with random names; returns the paths written."""
    folder = current_app.config["UPLOAD_DIR"]
    os.makedirs(folder, exist_ok=True)
    written = []
    for upload in uploads:
        upload.stored_name = secrets.token_hex(16)
        path = os.path.join(folder, upload.stored_name)
        upload.file.save(path)
        written.append(path)
    return written


def discard(paths: list[str]) -> None:
    """Remove files written for a change that did not happen."""
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass

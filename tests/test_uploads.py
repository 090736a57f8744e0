"""Attachments: the allowlist checked by content and extension, limits, cleaned names."""

import io

import pytest
from werkzeug.datastructures import FileStorage

import uploads

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def upload(name, content):
    return FileStorage(stream=io.BytesIO(content), filename=name)


@pytest.mark.parametrize("raw,clean", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\foto.jpg", "foto.jpg"),
    ("\u202egpj.exe", "gpj.exe"),
    ("nota\x00fiscal\x07.pdf", "notafiscal.pdf"),
    ("  .hidden.pdf  ", "hidden.pdf"),
    ("", "anexo"),
    ("....", "anexo"),
    ("Relatório   final.pdf", "Relatório final.pdf"),
])
def test_names_are_cleaned_for_display(raw, clean):
    assert uploads.clean_name(raw) == clean


def test_very_long_names_keep_their_extension():
    name = uploads.clean_name("a" * 300 + ".pdf")
    assert len(name) <= uploads.MAX_NAME and name.endswith(".pdf")


def test_real_files_of_allowed_types_are_accepted(app):
    with app.app_context():
        files = uploads.check([upload("foto.PNG", PNG), upload("nota.pdf", PDF), upload("f.jpeg", JPEG),
                               upload("texto.txt", "Olá, acentuação".encode("utf-8"))])
    assert [(f.name, f.content_type) for f in files] == [
        ("foto.PNG", "image/png"), ("nota.pdf", "application/pdf"), ("f.jpeg", "image/jpeg"),
        ("texto.txt", "text/plain")]


@pytest.mark.parametrize("name,content,message", [
    ("programa.exe", b"MZ\x90\x00", "tipo de arquivo não aceito"),
    ("pagina.html", b"<script>alert(1)</script>", "tipo de arquivo não aceito"),
    ("imagem.svg", b"<svg onload=alert(1)>", "tipo de arquivo não aceito"),
    ("nota.pdf", b"<?php system($_GET['c']); ?>", "não corresponde a um arquivo .pdf"),
    ("foto.jpg", PNG, "não corresponde a um arquivo .jpg"),
    ("dados.txt", b"\x00\x01\x02binary", "não corresponde a um arquivo .txt"),
    ("vazio.pdf", b"", "está vazio"),
])
def test_refused_files_say_why(app, name, content, message):
    with app.app_context(), pytest.raises(uploads.UploadError, match=message):
        uploads.check([upload(name, content)])


def test_size_and_count_limits(app):
    app.config.update(MAX_ATTACHMENT_BYTES=1024, MAX_ATTACHMENTS=2)
    with app.app_context():
        with pytest.raises(uploads.UploadError, match="o limite é 1 kb por arquivo"):
            uploads.check([upload("grande.pdf", PDF + b"x" * 2000)])
        with pytest.raises(uploads.UploadError, match="no máximo 2 arquivos"):
            uploads.check([upload(f"{i}.pdf", PDF) for i in range(3)])


def test_stored_files_get_random_names_outside_static(app, tmp_path):
    with app.app_context():
        files = uploads.check([upload("../nota.pdf", PDF)])
        [path] = uploads.store(files)
    assert path.startswith(app.config["UPLOAD_DIR"])
    assert "nota" not in path and len(files[0].stored_name) == 32
    with open(path, "rb") as stored:
        assert stored.read() == PDF

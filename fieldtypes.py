"""The typed extra fields of a subject (RENAVAM, PLACA, CPF/CNPJ, dates, numbers, choices):
how a typed value is checked and normalized, with the Portuguese message when it is wrong.

Check digits come from validate-docbr (CPF, CNPJ, RENAVAM); our tests pin its behaviour on
real-format examples. (brutils, used before, imports a holiday calendar and number-to-words
for every language with its package: 6.9 MB in every worker.)
"""

from __future__ import annotations

import re
from datetime import datetime

from models import FieldKind, ascii_digits

HELP = {
    FieldKind.RENAVAM: "11 dígitos, como no documento do veículo.",
    FieldKind.PLACA: "Modelo antigo (ABC-1234) ou Mercosul (ABC1D23).",
    FieldKind.CPF_CNPJ: "CPF (11 dígitos) ou CNPJ (14 dígitos), com ou sem pontuação.",
    FieldKind.DATE: "No formato dd/mm/aaaa.",
    FieldKind.NUMBER: "Apenas números.",
}


class FieldError(ValueError):
    """A typed value that does not fit its field; the message is for the citizen."""


# A vehicle plate: the old format (ABC1234) or Mercosul's (ABC1D23).
PLATE = re.compile(r"[A-Z]{3}[0-9][A-Z0-9][0-9]{2}")


def normalize(kind: FieldKind, raw: str, choices: list[str] | None = None) -> str:
    """The value as we store and show it, or FieldError with what is wrong."""
    # Imported here: only needed when a subject's fields are typed in.
    from validate_docbr import CNPJ, CPF, RENAVAM

    value = (raw or "").strip()
    if len(value) > 200:
        raise FieldError("Use no máximo 200 caracteres.")
    if kind == FieldKind.TEXT:
        return value
    if kind == FieldKind.RENAVAM:
        digits = ascii_digits(value)
        if re.search(r"[^0-9 .\-]", value) or len(digits) != 11:
            raise FieldError("O RENAVAM tem 11 dígitos.")
        if not RENAVAM().validate(digits):
            raise FieldError("RENAVAM inválido: confira os dígitos.")
        return digits
    if kind == FieldKind.PLACA:
        plate = re.sub(r"[\s\-]", "", value).upper()
        if not PLATE.fullmatch(plate):
            raise FieldError("Placa inválida: use ABC-1234 ou ABC1D23.")
        return f"{plate[:3]}-{plate[3:]}" if plate[4].isdigit() else plate
    if kind == FieldKind.CPF_CNPJ:
        digits = ascii_digits(value)
        if re.search(r"[^0-9 ./\-]", value):
            raise FieldError("Use apenas números, pontos, barra e hífen.")
        if len(digits) == 11:
            if not CPF().validate(digits):
                raise FieldError("CPF inválido: confira os dígitos.")
            return CPF().mask(digits)
        if len(digits) == 14:
            if not CNPJ().validate(digits):
                raise FieldError("CNPJ inválido: confira os dígitos.")
            return CNPJ().mask(digits)
        raise FieldError("Informe um CPF (11 dígitos) ou CNPJ (14 dígitos).")
    if kind == FieldKind.DATE:
        try:
            parsed = datetime.strptime(value, "%d/%m/%Y")
        except ValueError:
            raise FieldError("Data inválida: use dd/mm/aaaa, por exemplo 15/05/2015.") from None
        if not 1900 <= parsed.year <= 2100:
            raise FieldError("Data fora do intervalo aceito.")
        return parsed.strftime("%d/%m/%Y")
    if kind == FieldKind.NUMBER:
        if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})*(,[0-9]+)?|[0-9]+(,[0-9]+)?", value):
            raise FieldError("Informe apenas números, por exemplo 1.250,50.")
        return value
    if kind == FieldKind.CHOICE:
        if value not in (choices or []):
            raise FieldError("Escolha uma das opções.")
        return value
    raise FieldError("Campo desconhecido.")

"""Typed extra fields: RENAVAM, PLACA, CPF/CNPJ, date, number and choice, on real formats."""

import pytest

from fieldtypes import FieldError, normalize
from models import FieldKind


@pytest.mark.parametrize("raw,stored", [
    ("01234567897", "01234567897"),
    ("0123456789-7", "01234567897"),
    (" 01234567897 ", "01234567897"),
])
def test_valid_renavam_is_stored_as_11_digits(raw, stored):
    assert normalize(FieldKind.RENAVAM, raw) == stored


@pytest.mark.parametrize("raw,message", [
    ("01234567890", "confira os dígitos"),
    ("1234567", "11 dígitos"),
    ("0123456789A", "11 dígitos"),
    ("１２３４５６７８９０１", "11 dígitos"),
])
def test_wrong_renavam_says_why(raw, message):
    with pytest.raises(FieldError, match=message):
        normalize(FieldKind.RENAVAM, raw)


@pytest.mark.parametrize("raw,stored", [
    ("ABC-1234", "ABC-1234"), ("abc1234", "ABC-1234"), ("ABC 1234", "ABC-1234"),
    ("ABC1D23", "ABC1D23"), ("nbb0a00", "NBB0A00"),
])
def test_plates_old_and_mercosul_are_normalized(raw, stored):
    assert normalize(FieldKind.PLACA, raw) == stored


@pytest.mark.parametrize("raw", ["AB-1234", "ABCD123", "1234ABC", "ABC-12345", "ÁBC1234"])
def test_wrong_plates_are_refused(raw):
    with pytest.raises(FieldError, match="Placa inválida"):
        normalize(FieldKind.PLACA, raw)


@pytest.mark.parametrize("raw,stored", [
    ("529.982.247-25", "529.982.247-25"), ("52998224725", "529.982.247-25"),
    ("11.222.333/0001-81", "11.222.333/0001-81"), ("11222333000181", "11.222.333/0001-81"),
])
def test_cpf_and_cnpj_with_check_digits(raw, stored):
    assert normalize(FieldKind.CPF_CNPJ, raw) == stored


@pytest.mark.parametrize("raw,message", [
    ("529.982.247-24", "CPF inválido"), ("111.111.111-11", "CPF inválido"),
    ("11.222.333/0001-80", "CNPJ inválido"), ("123", "CPF \\(11 dígitos\\) ou CNPJ"),
    ("529x982", "Use apenas números"),
])
def test_wrong_cpf_or_cnpj_says_which(raw, message):
    with pytest.raises(FieldError, match=message):
        normalize(FieldKind.CPF_CNPJ, raw)


def test_dates_numbers_and_choices():
    assert normalize(FieldKind.DATE, "1/2/2015") == "01/02/2015"
    with pytest.raises(FieldError, match="dd/mm/aaaa"):
        normalize(FieldKind.DATE, "31/02/2015")
    assert normalize(FieldKind.NUMBER, "1.250,50") == "1.250,50"
    with pytest.raises(FieldError):
        normalize(FieldKind.NUMBER, "12a")
    assert normalize(FieldKind.CHOICE, "Doação", ["Doação", "Herança"]) == "Doação"
    with pytest.raises(FieldError, match="Escolha"):
        normalize(FieldKind.CHOICE, "Outra", ["Doação", "Herança"])
    with pytest.raises(FieldError, match="200"):
        normalize(FieldKind.TEXT, "x" * 201)

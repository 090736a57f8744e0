"""Our forms write plain <input>s themselves (views.fields.Form, for speed); what they write
must be exactly what WTForms' own widgets would."""

import pytest
from markupsafe import Markup
from wtforms import HiddenField, SearchField, StringField, SubmitField, TelField
from wtforms.fields import EmailField
from wtforms.meta import DefaultMeta
from wtforms.validators import DataRequired, Length

from views.fields import Form, email_field


class Sample(Form):
    email = email_field()
    name = StringField("Nome", validators=[DataRequired(), Length(max=120)])
    phone = TelField("Telefone")
    mail = EmailField("E-mail")
    search = SearchField("Buscar")
    key = HiddenField()
    submit = SubmitField("Enviar <já>")


@pytest.mark.parametrize("name,kwargs", [
    ("email", {"type": "email", "autocomplete": "email", "maxlength": 254, "required": True, "spellcheck": "false"}),
    ("email", {"aria_describedby": "email-ajuda email-erro", "aria_invalid": "true", "class_": "x"}),
    ("name", {}), ("name", {"placeholder": 'Diga "oi" & <tchau>', "disabled": False, "readonly": True}),
    ("phone", {"data_x": "1"}), ("mail", {}), ("search", {"value": "já"}), ("key", {"id": False}),
    ("submit", {"class_": "button primary", "data-sending-text": "Enviando…"}),
])
def test_plain_inputs_are_written_as_wtforms_writes_them(app, name, kwargs):
    with app.test_request_context("/", method="POST", data={"email": 'a"b@<c>.br', "name": "Zé & Cia"}):
        form = Sample(meta={"csrf": False})
        form.validate()
        field = form[name]
        ours = field(**kwargs)
        theirs = DefaultMeta().render_field(field, kwargs)
        assert isinstance(ours, Markup)
        assert str(ours) == str(theirs)

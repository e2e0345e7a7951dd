"""Forms that fill themselves: :class:`Form`, the field markers, :func:`prefill`, :class:`Draft`.

A form is a pydantic model whose fields say where their value comes from::

    class MyForm(Form):
        siret: Annotated[Siret, From("identity.siret"), Field(title="Numéro SIRET")]
        email: Annotated[str, Declared("contact.email"), Field(title="Adresse électronique")]
        honest: Annotated[bool, Sworn(), Field(title="Je certifie sur l'honneur...")]

Markers (one per field, :class:`Protected` may be added to any of the first three):

- :class:`From` -- a fact path: a kind key (``identity``, ``turnover``, ``headcount``,
  ``vat``, ``registry``, ``rne``, ``association``, ``tax``, ``social``; see :data:`KINDS`)
  then attributes (``identity.address.one_line``). Several paths: the first that has a value.
- :class:`Derived` -- computed from facts by a function (the PME question, the turnover table).
- :class:`Declared` -- something the company declares itself, kept in the
  :class:`~dlnuf.answers.AnswerStore` under a key shared by every form.
- :class:`Sworn` -- a sworn statement: never pre-filled, always asked.
- :class:`Protected` -- needs an authenticated context: never pre-filled on a form
  whose ``authenticated`` class variable is false.
- no marker -- asked on every form, never stored (the lot applied for...).

Privacy: a form that is not ``authenticated`` never receives a withheld value
(``[ND]``) nor any value of a fact whose ``provenance.public`` is false; the field
is left missing, with the reason.

The machinery lives in small modules, one job each: :mod:`.markers` (the
markers), :mod:`.kinds` (kind keys), :mod:`.form` (:class:`Form`), :mod:`.specs`
(reading a form's fields), :mod:`.view` (reading facts as a form may),
:mod:`.prefill` and :mod:`.report` (pre-filling), :mod:`.draft` and :mod:`.schema`
(the result), :mod:`.reasons` (why a field is missing). This module gathers their
public names (``dlnuf.forms`` exports them with the ready forms).
"""

from __future__ import annotations

# ``X as X``: importable from here as before the split, not part of ``__all__``.
from .draft import Conflict, Draft, FormInvalid, KindError, MissingField, Proposal
from .draft import log as log
from .form import F as F
from .form import Form
from .kinds import KINDS, register_kind
from .markers import Declared, Derived, From, Protected, Sworn
from .markers import Origin as Origin
from .prefill import prefill
from .reasons import ANSWERED_SOURCE as ANSWERED_SOURCE
from .reasons import ASKED, NOT_DECLARED, PROTECTED, SWORN, WITHHELD
from .reasons import DECLARED_SOURCE as DECLARED_SOURCE
from .reasons import REJECTED as REJECTED
from .specs import FieldSpec, field_specs, required_kinds
from .view import FactView

__all__ = [
    "ASKED",
    "KINDS",
    "NOT_DECLARED",
    "PROTECTED",
    "SWORN",
    "WITHHELD",
    "Conflict",
    "Declared",
    "Derived",
    "Draft",
    "FactView",
    "FieldSpec",
    "Form",
    "FormInvalid",
    "From",
    "KindError",
    "MissingField",
    "Proposal",
    "Protected",
    "Sworn",
    "field_specs",
    "prefill",
    "register_kind",
    "required_kinds",
]

"""The :class:`Form` base class: a pydantic model whose fields say where their value comes from."""

from __future__ import annotations

import functools
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from .specs import field_specs

__all__ = ["F", "Form"]


class Form(BaseModel):
    """Base of every pre-fillable form. Subclass it and annotate the fields with markers.

    Class variables: ``authenticated`` (the form is shown in an authenticated,
    entitled context: protected data allowed), ``form_name`` (short name stored
    with declared answers, the class name by default), ``title``.
    """

    model_config = ConfigDict(extra="forbid")

    authenticated: ClassVar[bool] = False
    form_name: ClassVar[str] = ""
    title: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "form_name" not in cls.__dict__:
            cls.form_name = cls.__name__
        if cls.__pydantic_complete__:  # else (forward references) checked on first use
            field_specs(cls)  # check the markers now: a bad path fails at class definition

    @classmethod
    def as_authenticated(cls) -> type[Form]:
        """The same form, marked authenticated (for an entitled, authenticated context)."""
        if cls.authenticated:
            return cls
        return _authenticated_variant(cls)


@functools.cache
def _authenticated_variant(cls: type[Form]) -> type[Form]:
    namespace = {
        "authenticated": True,
        "form_name": cls.form_name,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    variant: type[Form] = type(cls.__name__, (cls,), namespace)
    return variant


F = TypeVar("F", bound=Form)

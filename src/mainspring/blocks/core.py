"""`Block`: typed, named configuration saved in the store, and the registry of block types.

A block type is a pydantic model subclassing `Block`; defining the class registers it under
its slug (`SlackWebhook` -> `slack-webhook`, or `_block_type_slug`). `save(name)` registers the
type in the store (slug, description, the JSON schema of its fields, which fields are secret)
and writes the field values; `load(name)` reads them back in any process that reaches the
same store, embedded or through a server, and validates them into the class again.

Secrets: fields typed `SecretStr`, `SecretBytes` or `SecretDict` (also inside a nested block)
are the type's secret fields. pydantic masks them in `repr`, `str` and `model_dump`; the store
encrypts them at rest and masks them in every listing, API answer and CLI output. Only `load`
asks for them in the clear, because the process loading a block is the one that uses them.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import types
import typing
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr, Secret, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from mainspring.model.blocks import (
    BlockDocument,
    BlockType,
    check_block_name,
    check_slug,
    split_block_address,
)

__all__ = ["Block", "SecretDict", "block_class", "registered_block_types"]


class SecretDict(Secret[dict[str, Any]]):
    """A dict whose values are secret (headers with a token, say): masked when shown,
    encrypted at rest; `get_secret_value()` returns the dict."""


_SECRET_TYPES = (SecretStr, SecretBytes, Secret)


class _instance_or_class:
    """A method bound to the instance when called on one, else to the class."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance: Any, owner: type) -> Any:
        return types.MethodType(self.function, owner if instance is None else instance)


#: Every Block subclass defined in this process, by slug.
_registry: dict[str, type[Block]] = {}


def _kebab(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name)
    return words.lower()


def _choices(annotation: Any) -> list[Any]:
    """The types an annotation allows (`X | None` -> [X, NoneType])."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [c for arg in typing.get_args(annotation) for c in _choices(arg)]
    if origin is typing.Annotated:
        return _choices(typing.get_args(annotation)[0])
    return [annotation]


def _is_secret_type(kind: Any) -> bool:
    return inspect.isclass(kind) and issubclass(kind, _SECRET_TYPES)


def _plain(value: Any) -> Any:
    """`value` as JSON, secrets in the clear (what the store encrypts)."""
    if isinstance(value, _SECRET_TYPES):
        secret = value.get_secret_value()
        return secret.decode() if isinstance(secret, bytes) else _plain(secret)
    if isinstance(value, Block):
        return value._plain_data()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return to_jsonable_python(value)


class Block(BaseModel):
    """Base of every block type (module docstring).

    Class attributes a subclass may set: `_block_type_slug` (default: the class name in
    kebab-case), `_block_type_name` (default: the class name), `_description` (default: the
    first paragraph of the docstring), `_logo_url` and `_documentation_url` (Prefect's; kept
    for compatibility, unused).
    """

    # hide_input_in_errors: a validation error (a stored block that no longer fits its class)
    # must not print the values it was given, which may be secrets.
    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        hide_input_in_errors=True,
        ignored_types=(_instance_or_class,),
    )

    _block_type_slug: ClassVar[str | None] = None
    _block_type_name: ClassVar[str | None] = None
    _description: ClassVar[str | None] = None
    #: A base of block types, not one itself (NotificationBlock): not registered.
    _block_type_abstract: ClassVar[bool] = False
    _logo_url: ClassVar[str | None] = None
    _documentation_url: ClassVar[str | None] = None

    _block_document_name: str | None = PrivateAttr(default=None)
    _block_document_id: str | None = PrivateAttr(default=None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        slug = cls.__dict__.get("_block_type_slug") or _kebab(cls.__name__.lstrip("_"))
        cls._block_type_slug = check_slug(slug)
        if not cls.__dict__.get("_block_type_abstract", False):
            _registry[slug] = cls  # a redefinition (a reloaded module) replaces

    # -- the type ----------------------------------------------------------------------------
    @classmethod
    def get_block_type_slug(cls) -> str:
        if cls._block_type_slug is None:
            raise TypeError("Block itself is not a block type: subclass it")
        return cls._block_type_slug

    @classmethod
    def get_block_type_name(cls) -> str:
        return cls.__dict__.get("_block_type_name") or cls.__name__

    @classmethod
    def get_description(cls) -> str:
        if cls.__dict__.get("_description"):
            return str(cls._description)
        doc = inspect.getdoc(cls) if cls.__doc__ else None
        return doc.split("\n\n")[0].replace("\n", " ") if doc else ""

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """Dotted paths of the secret fields, those of nested blocks included."""
        paths: list[str] = []
        for name, info in cls.model_fields.items():
            for kind in _choices(info.annotation):
                if _is_secret_type(kind):
                    paths.append(name)
                    break
                if inspect.isclass(kind) and issubclass(kind, Block):
                    paths.extend(f"{name}.{p}" for p in kind.secret_fields())
        return tuple(dict.fromkeys(paths))

    @classmethod
    def block_type(cls) -> BlockType:
        """This type as the store registers it."""
        schema = cls.model_json_schema()
        schema["secret_fields"] = list(cls.secret_fields())
        return BlockType(
            slug=cls.get_block_type_slug(),
            name=cls.get_block_type_name(),
            description=cls.get_description(),
            fields_schema=schema,
            secret_fields=cls.secret_fields(),
        )

    def _plain_data(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in type(self).model_fields}

    # -- saving and loading ------------------------------------------------------------------
    def save(self, name: str, overwrite: bool = False) -> str:
        """Save this block as `name` (lowercase letters, digits and dashes); return its id.
        `ObjectAlreadyExists` when a block of this type has that name and `overwrite` is
        False."""
        check_block_name(name)
        store = _block_store()
        kind = type(self).block_type()
        store.upsert_block_type(kind)
        saved = store.save_block_document(kind.slug, name, self._plain_data(), overwrite=overwrite)
        self._block_document_name = saved.name
        self._block_document_id = saved.id
        return saved.id

    @classmethod
    def load(cls, name: str, validate: bool = True) -> Self:
        """The block saved as `name`, secrets in the clear. On `Block` itself (or to load
        another type) give 'type-slug/name'. `ObjectNotFound` if none is saved;
        `validate=False` skips validating the stored values (as in Prefect)."""
        slug, block_name = cls._address(name)
        kind: type[Block] = cls
        if cls is Block or slug != cls.get_block_type_slug():
            kind = block_class(slug)
            if not issubclass(kind, cls):
                raise TypeError(
                    f"Block {slug}/{block_name} is a {kind.__name__}, not a {cls.__name__}"
                )
        document = _block_store().read_block_document(slug, block_name, include_secrets=True)
        return typing.cast(Self, _from_document(kind, document, validate))

    async def asave(self, name: str, overwrite: bool = False) -> str:
        """`save` from async code (in a worker thread: the store's calls block)."""
        return await asyncio.to_thread(self.save, name, overwrite)

    @classmethod
    async def aload(cls, name: str, validate: bool = True) -> Self:
        """`load` from async code (in a worker thread: the store's calls block)."""
        return await asyncio.to_thread(cls.load, name, validate)

    @classmethod
    def _address(cls, name: str) -> tuple[str, str]:
        if "/" in name or cls is Block:
            return split_block_address(name)
        return cls.get_block_type_slug(), check_block_name(name)

    @property
    def block_document_name(self) -> str | None:
        """The name this block was saved or loaded as; None for one never saved."""
        return self._block_document_name

    @_instance_or_class
    def delete(self_or_cls: Any, name: str | None = None) -> None:
        """`block.delete()` deletes a block that was saved or loaded; `Type.delete(name)`
        (`Block.delete('type-slug/name')`) deletes one by name, as in Prefect.
        `ObjectNotFound` if there is none."""
        if isinstance(self_or_cls, Block):
            if name is None:
                name = self_or_cls._block_document_name
            if name is None:
                raise ValueError("This block was never saved or loaded: nothing to delete")
            kind: type[Block] = type(self_or_cls)
        else:
            if name is None:
                raise TypeError("delete() on a block type needs the name of the block")
            kind = self_or_cls
        slug, block_name = kind._address(name)
        _block_store().delete_block_document(slug, block_name)
        if isinstance(self_or_cls, Block) and block_name == self_or_cls._block_document_name:
            self_or_cls._block_document_name = self_or_cls._block_document_id = None


def _from_document(kind: type[Block], document: BlockDocument, validate: bool) -> Block:
    block = (
        kind.model_validate(document.data) if validate else kind.model_construct(**document.data)
    )
    block._block_document_name = document.name
    block._block_document_id = document.id
    return block


def _block_store() -> Any:
    from mainspring.store import get_store
    from mainspring.store.blocks import BlockStore

    store = get_store()
    if not isinstance(store, BlockStore):
        raise TypeError(f"The store in use ({store!r}) keeps no blocks")
    return store


#: The modules defining the built-in block types, imported before a registry lookup fails.
BUILTIN_MODULES = ("mainspring.blocks.system", "mainspring.blocks.notifications")


def _import_builtins() -> None:
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def block_class(slug: str) -> type[Block]:
    """The Block subclass registered under `slug` (the built-ins are always known);
    `KeyError` naming the slug if no class of this process registered it."""
    if slug not in _registry:
        _import_builtins()
    try:
        return _registry[slug]
    except KeyError:
        raise KeyError(
            f"No block class for type {slug!r} in this process: import the module that "
            "defines it before loading the block"
        ) from None


def registered_block_types() -> dict[str, type[Block]]:
    """Every block class known to this process (the built-ins included), by slug."""
    _import_builtins()
    return dict(sorted(_registry.items()))

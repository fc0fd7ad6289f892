"""The checks of `[plugin_types.<type>.call]`: a function the host calls, and what it
checks of the results. A call names a declared symbol of a function type; it passes
one TOML value per parameter, each of a kind the parameter's type can be written from;
it describes each result, with checks that fit the result's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from plugin_builder.config.checks import template
from plugin_builder.config.parse import Context, show
from plugin_builder.config.targets import EXPORTED_RE, go_type_problem
from plugin_builder.golang.gotypes import GoTypeError, func_signature, literal, normalized

if TYPE_CHECKING:
    from plugin_builder.config.model import PluginType

HAS_FIELDS = ("type", "name")  # placeholders of returns[].has values


def exported(ctx: Context, key: str, symbol: str) -> str:
    if not EXPORTED_RE.fullmatch(symbol):
        raise ctx.error(key, f"{show(symbol)} is not an exported Go identifier",
                        fix="name a function of `symbols` or `optional_symbols`, e.g. "
                            "\"DragonflyPluginInit\"")
    return symbol


def has_entries(ctx: Context, key: str, entries: Mapping[str, str]) -> Mapping[str, str]:
    placeholders = template(HAS_FIELDS)
    for name, value in entries.items():
        placeholders(ctx, f"{key}.{name}", value)
    return entries


def returned_type(ctx: Context, key: str, go_type: str) -> str:
    problem = go_type_problem(go_type)
    if problem:
        raise ctx.error(key, f"{show(go_type)} is not a Go type: {problem}",
                        fix="name the type the host asserts the value to, e.g. "
                            "\"evaluator.Evaluator\" (its package in `imports`)")
    return go_type.strip()


def call_fits(ctx: Context, key: str, kind: PluginType) -> PluginType:
    """The call names a declared function, passes what its parameters take, and checks
    what its results can be checked for."""
    call = kind.call
    if call is None:
        return kind
    where = f"{key}.call"
    declared = {**kind.symbol_types, **kind.optional_symbols}
    if call.symbol not in declared:
        raise ctx.error(f"{where}.symbol", f"{call.symbol} is not a symbol of this type "
                                           "with a declared Go type",
                        fix=f"declare it: symbols = {{ {call.symbol} = \"func(...) ...\" }}")
    go_type = declared[call.symbol]
    signature = func_signature(go_type)
    if signature is None:
        raise ctx.error(f"{where}.symbol", f"{call.symbol} is declared as {show(go_type)}, "
                                           "which is not a function type",
                        fix="call a symbol declared with a func(...) type")
    if signature.variadic:
        raise ctx.error(f"{where}.symbol", f"{call.symbol} takes a variadic parameter, which "
                                           "a call cannot be written for",
                        fix="check this symbol by its type only (remove the call table)")
    _arguments(ctx, where, call.symbol, signature.params, call.arguments)
    _returns(ctx, where, call.symbol, signature.results, call.returns)
    return kind


def _arguments(ctx: Context, where: str, symbol: str, params: tuple[str, ...],
               arguments: tuple[Any, ...]) -> None:
    if len(arguments) != len(params):
        raise ctx.error(f"{where}.arguments", f"{symbol} takes {len(params)} parameter(s) "
                                              f"({', '.join(params) or 'none'}), and "
                                              f"{len(arguments)} argument(s) are given",
                        fix="give one TOML value per parameter, e.g. arguments = [{}] for a "
                            "map[string]string")
    for index, (go_type, value) in enumerate(zip(params, arguments, strict=True)):
        try:
            literal(go_type, value)
        except GoTypeError as error:
            raise ctx.error(f"{where}.arguments[{index}]",
                            f"argument {index + 1} of {symbol}: {error}",
                            fix=f"write a value a {go_type} parameter takes") from None


def _returns(ctx: Context, where: str, symbol: str, results: tuple[str, ...],
             returns: tuple[Any, ...]) -> None:
    if len(returns) != len(results):
        raise ctx.error(f"{where}.returns", f"{symbol} returns {len(results)} value(s) "
                                            f"({', '.join(results) or 'none'}), and "
                                            f"{len(returns)} are described",
                        fix="describe each result in order; {} leaves one unchecked")
    for index, (go_type, returned) in enumerate(zip(results, returns, strict=True)):
        if returned.has and normalized(go_type) != "map[string]string":
            raise ctx.error(f"{where}.returns[{index}].has", f"result {index + 1} of "
                                                              f"{symbol} is a {go_type}; "
                                                              "'has' checks entries of a "
                                                              "map[string]string",
                            fix="remove `has`, or put it on the map[string]string result")
        if returned.is_nil is True and (returned.has or returned.implements):
            raise ctx.error(f"{where}.returns[{index}]", "a value that must be nil has no "
                                                         "entries and no type to check",
                            fix="keep is_nil = true alone, or drop it")

"""SpikeCore assembly text (docs/isa.md section 4): ``assemble`` parses it, ``disassemble`` prints it.

The two are exact inverses on valid programs: scales print with ``repr`` and every table is written
in full, so ``assemble(disassemble(p))`` equals ``p``. Data sections can be large (a 784x512 synapse
table is 400 KB of hex), so the grammar captures a whole section body as one token and the bytes are
decoded with ``bytes.fromhex`` instead of one parser token per byte.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lark
import numpy as np

from spikeir.chip.image import RESOURCE_FIELDS, TARGET_NAME, target_from_fields
from spikeir.chip.isa import (
    GEOMETRY_RECORD_BYTES,
    INT32_MAX,
    INT32_MIN,
    PROBE_KINDS,
    Acc,
    AccBias,
    AccConv,
    AccCurrent,
    Compartment,
    ConvGeometry,
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    LeakDecay,
    Opcode,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import TARGETS
from spikeir.errors import AssemblyError, ProgramError, TargetError
from spikeir.fileio import atomic_write

__all__ = ["Opcode", "assemble", "disassemble", "load_assembly", "save_assembly"]

_NUM = r"(?:0[xX][0-9a-fA-F]+|[0-9]+)"
_SEP = r"(?:[ \t]|;[^\n]*|\r?\n)+"
_HEX_CHUNK = r"(?:[0-9a-fA-F]{2})+(?!\w)"
_PARAM_VALUE = rf"[+-]?{_NUM}(?!\w)"

GRAMMAR = rf"""
start: _NL? _item*
_item: _statement _NL | synapses | params
_statement: target | inputs | output | probe | acc_syn | acc_bias | acc_current | acc_conv
          | fire_graded | fire_binary | leak | leak_decay | halt

target: TARGET NAME option*
option: KEY "=" VALUE
inputs: INPUTS UINT ("scale"i "=" FLOAT)? STREAM?
output: OUTPUT range ("scale"i "=" FLOAT)?
probe: PROBE range PROBE_KIND+

acc_syn: ACC crange "," "S"i UINT block "," "bus"i span delay?
acc_bias: ACC crange "," "P"i UINT span
acc_current: ACC crange "," CURRENT
acc_conv: ACC crange "," "S"i UINT block "," "bus"i span "," "conv"i _conv_maps _conv_kernel delay?
_conv_maps: "," "in"i "=" MAP "," "out"i "=" MAP span
_conv_kernel: "," "kernel"i "=" SHAPE "," "stride"i "=" pair "," "pad"i "=" pair "," "dilation"i "=" pair "," "groups"i "=" UINT
delay: "," "delay"i "=" UINT
fire_graded: FIRE range "->" "bus"i span "," "graded"i "," "P"i UINT span "," "shift"i "=" UINT "," "clamp"i "=" "[" INT "," INT "]"
fire_binary: FIRE range "->" "bus"i span "," "binary"i "," "P"i UINT span "," "reset"i "=" reset_to refractory? init?
reset_to: RESET | "P"i UINT span
refractory: "," "refractory"i "=" UINT
init: "," "init"i "=" HALF
leak: LEAK crange "," "shift"i "=" UINT
leak_decay: LEAK crange "," "decay"i "=" "P"i UINT span
halt: HALT

crange: range COMPARTMENT?
range: "c"i UINT span
span: "[" UINT ":" UINT "]"
block: "[" UINT ":" UINT "," UINT ":" UINT "]"
pair: "[" UINT "," UINT "]"

synapses: SYNAPSES "S"i UINT SHAPE _NL (HEXDATA _NL)?
params: PARAMS "P"i UINT UINT _NL (PARAMDATA _NL)?

TARGET: /\.target\b/i
INPUTS: /\.inputs\b/i
OUTPUT: /\.output\b/i
SYNAPSES: /\.synapses\b/i
PARAMS: /\.params\b/i
ACC: /acc\b/i
FIRE: /fire\b/i
LEAK: /leak\b/i
HALT: /halt\b/i
RESET: /(zero|subtract)\b/i
HALF: /half\b/i
PROBE: /\.probe\b/i
STREAM: /stream\b/i
PROBE_KIND: /(spikes|v|i)\b/i
CURRENT: /i\b/i
COMPARTMENT: /\.i\b/i
MAP: /[0-9]+[xX][0-9]+[xX][0-9]+(?!\w)/

NAME: /{TARGET_NAME}(?![^\s;])/
KEY: /[A-Za-z_]\w*/
VALUE: /[^\s;=]+/
UINT: /{_NUM}(?!\w)/
INT: /[+-]?{_NUM}(?!\w)/
FLOAT: /[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|nan)(?!\w)/i
SHAPE: /[0-9]+[xX][0-9]+(?!\w)/
HEXDATA: /{_HEX_CHUNK}(?:{_SEP}{_HEX_CHUNK})*/
PARAMDATA: /{_PARAM_VALUE}(?:{_SEP}{_PARAM_VALUE})*/

COMMENT: /;[^\n]*/
_NL: /(\r?\n[ \t]*(;[^\n]*)?)+/
%ignore /[ \t]+/
%ignore COMMENT
"""


@functools.cache
def _parser() -> lark.Lark:
    """The LALR parser, built on first use (building it takes a noticeable fraction of a second)."""
    return lark.Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)


_WORD = re.compile(r"[^\s,\[\]:;=]+|\S")

_TERMINAL_NAMES = {
    "_NL": "end of line",
    "$END": "end of input",
    "NAME": "a target name",
    "KEY": "a key",
    "VALUE": "a value",
    "UINT": "a non-negative integer",
    "INT": "an integer",
    "FLOAT": "a number",
    "SHAPE": "<rows>x<cols>",
    "MAP": "<channels>x<height>x<width>",
    "PROBE_KIND": "'spikes', 'v' or 'i'",
    "CURRENT": "'i'",
    "COMPARTMENT": "'.i'",
    "STREAM": "'stream'",
    "HEXDATA": "hex bytes",
    "PARAMDATA": "integers",
    "RESET": "'zero' or 'subtract'",
    "HALF": "'half'",
}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return name
    if isinstance(pattern, lark.lexer.PatternStr):
        return repr(pattern.value)
    match = re.fullmatch(r"\\?(\.?\w+)\\b", pattern.value)
    if not match:
        return name
    word = match.group(1)
    return repr(word if word.startswith(".") else word.upper())


def _expected(names: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted({_describe_terminal(n) for n in names}))


def _located(message: str, line: int, column: int, filename: str | None) -> AssemblyError:
    location = f"{line}:{column}"
    return AssemblyError(message, f"{filename}:{location}" if filename else location)


def _word_at(text: str, position: int) -> str:
    """The word starting at ``position``, to quote in an error message."""
    word = _WORD.match(text, position)
    return word.group(0) if word else text[position : position + 1]


def _lark_error(err: lark.exceptions.UnexpectedInput, text: str, filename: str | None) -> AssemblyError:
    """A lark parse error as an AssemblyError naming the offending token and what was expected."""
    if isinstance(err, lark.exceptions.UnexpectedToken):
        token = err.token
        if token.type == "$END":
            what = "end of input"
        elif token.type == "_NL":
            what = "end of line"
        else:
            what = repr(_word_at(text, token.start_pos) if token.start_pos is not None else str(token))
        line = token.line if token.line is not None else err.line
        column = token.column if token.column is not None else err.column
        return _located(f"unexpected {what}; expected {_expected(err.expected)}", line, column, filename)
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        offending = _word_at(text, err.pos_in_stream)
        allowed = err.allowed or set()
        hint = f"; expected {_expected(allowed)}" if allowed else ""
        return _located(f"unexpected {offending!r}{hint}", err.line, err.column, filename)
    return _located("unexpected end of input", err.line, err.column, filename)


@dataclass
class _Where:
    """Source position of a statement, for error messages."""

    line: int
    column: int


def _pos(token: lark.Token) -> _Where:
    return _Where(token.line or 0, token.column or 0)


def _int(token: str) -> int:
    """The value of a UINT or INT token (decimal, or hex after ``0x``; INT may carry a sign)."""
    return int(token, 16) if "x" in token or "X" in token else int(token)


def _blob_tokens(token: lark.Token) -> tuple[str, Iterator[re.Match[str]]]:
    """A data section body with comments blanked out (offsets unchanged), and its whitespace-separated words."""
    body = re.sub(r";[^\n]*", lambda m: " " * len(m.group(0)), str(token))
    return body, re.finditer(r"\S+", body)


def _position_in(token: lark.Token, offset: int) -> tuple[int, int]:
    """Line and column of character ``offset`` inside a multi-line token."""
    text = str(token)[:offset]
    newlines = text.count("\n")
    line = (token.line or 0) + newlines
    column = (offset - text.rfind("\n")) if newlines else (token.column or 0) + offset
    return line, column


class _Assembler:
    """Walks the parse tree in source order, enforcing the section order of docs/isa.md section 4."""

    def __init__(self, filename: str | None) -> None:
        self.filename = filename
        self.target_fields: tuple[str, dict[str, int]] | None = None
        self.target_where: _Where | None = None
        self.n_inputs: int | None = None
        self.inputs_where: _Where | None = None
        self.input_scale = 0.0
        self.streamed_input = False
        self.outputs: list[OutputSpec] = []
        self.output_where: list[_Where] = []
        self.probes: list[ProbeSpec] = []
        self.probe_where: list[_Where] = []
        self.instructions: list[Instruction] = []
        self.instr_where: list[_Where] = []
        self.synapse_tables: dict[int, np.ndarray] = {}
        self.synapse_where: dict[int, _Where] = {}
        self.param_tables: dict[int, np.ndarray] = {}
        self.param_where: dict[int, _Where] = {}

    def error(self, message: str, where: _Where | lark.Token) -> AssemblyError:
        if isinstance(where, lark.Token):
            where = _pos(where)
        return _located(message, where.line, where.column, self.filename)

    # -- section order ------------------------------------------------------------------------

    def _phase(self, kind: str, keyword: lark.Token) -> None:
        if kind != "target" and self.target_where is None:
            raise self.error(f"expected '.target' before {str(keyword)!r}: a program starts with .target", keyword)
        if kind not in ("target", "inputs") and self.inputs_where is None:
            raise self.error(f"expected '.inputs' before {str(keyword)!r}: .inputs follows .target", keyword)
        if kind == "target" and self.target_where is not None:
            raise self.error(f"duplicate '.target' (first at line {self.target_where.line})", keyword)
        if kind == "inputs" and self.inputs_where is not None:
            raise self.error(f"duplicate '.inputs' (first at line {self.inputs_where.line})", keyword)
        has_data = bool(self.synapse_where or self.param_where)
        if kind == "output" and (self.instructions or has_data):
            raise self.error("'.output' must come before the instructions and data sections", keyword)
        if kind == "output" and self.probes:
            raise self.error("'.output' must come before the '.probe' lines", keyword)
        if kind == "probe" and (self.instructions or has_data):
            raise self.error("'.probe' must come before the instructions and data sections", keyword)
        if kind == "instr" and has_data:
            raise self.error(f"instruction {str(keyword)!r} after a data section: instructions come first", keyword)

    # -- statements -----------------------------------------------------------------------------

    def statement(self, tree: lark.Tree[lark.Token]) -> None:
        kind = str(tree.data)
        tokens = [child for child in tree.children if isinstance(child, lark.Token)]
        keyword = tokens[0] if tokens else None
        assert keyword is not None
        self._phase(kind if kind in ("target", "inputs", "output", "probe", "synapses", "params") else "instr", keyword)
        getattr(self, f"_{kind}")(tree, keyword)

    def _target(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        name = tree.children[1]
        assert isinstance(name, lark.Token)
        fields: dict[str, int] = {}
        for option in tree.children[2:]:
            assert isinstance(option, lark.Tree)
            key, value = option.children
            assert isinstance(key, lark.Token) and isinstance(value, lark.Token)
            lowered = key.lower()
            if lowered not in RESOURCE_FIELDS:
                raise self.error(f"unknown key {str(key)!r} in .target; known keys: {', '.join(RESOURCE_FIELDS)}", key)
            if lowered in fields:
                raise self.error(f"duplicate key {str(key)!r} in .target", key)
            if not re.fullmatch(_NUM, value):
                raise self.error(f"{lowered} must be a non-negative integer, got {str(value)!r}", value)
            fields[lowered] = _int(value)
        missing = [key for key in RESOURCE_FIELDS if key not in fields]
        if missing and str(name) not in TARGETS:
            raise self.error(
                f"target {str(name)!r} is not a known target, so .target must give {', '.join(missing)}", name
            )
        try:
            target_from_fields(str(name), fields)
        except TargetError as err:
            raise self.error(err.message, name) from None
        self.target_fields = (str(name), fields)
        self.target_where = _pos(keyword)

    def _scale(self, token: lark.Token, what: str) -> float:
        """A scale: 0.0 (unknown) or a finite positive number (NaN, infinities and negatives mean nothing)."""
        scale = float(token)
        if not (scale == 0.0 or (math.isfinite(scale) and scale > 0.0)):
            raise self.error(f"{what} must be finite and positive (or 0.0 for unknown), got {str(token)!r}", token)
        return scale

    def _inputs(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        count = tree.children[1]
        assert isinstance(count, lark.Token)
        self.n_inputs = _int(count)
        for token in tree.children[2:]:
            assert isinstance(token, lark.Token)
            if token.type == "STREAM":
                self.streamed_input = True
            else:
                self.input_scale = self._scale(token, "input scale")
        self.inputs_where = _pos(keyword)

    def _output(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count = self._range(tree.children[1])
        scale = 0.0
        if len(tree.children) > 2:
            token = tree.children[2]
            assert isinstance(token, lark.Token)
            scale = self._scale(token, "output scale")
        self.outputs.append(OutputSpec(core, base, count, scale))
        self.output_where.append(_pos(keyword))

    def _probe(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count = self._range(tree.children[1])
        kinds: set[str] = set()
        for token in tree.children[2:]:
            assert isinstance(token, lark.Token)
            kind = token.lower()
            if kind in kinds:
                raise self.error(f"duplicate probe kind {str(token)!r}", token)
            kinds.add(kind)
        self.probes.append(ProbeSpec(core, base, count, *(kind in kinds for kind in PROBE_KINDS)))
        self.probe_where.append(_pos(keyword))

    def _add(self, instr: Instruction, keyword: lark.Token) -> None:
        self.instructions.append(instr)
        self.instr_where.append(_pos(keyword))

    def _crange(self, node: lark.Tree[lark.Token] | lark.Token) -> tuple[int, int, int, Compartment, lark.Token | None]:
        """A neuron range with an optional ``.i``: core, base, count, compartment and the ``.i`` token."""
        assert isinstance(node, lark.Tree)
        core, base, count = self._range(node.children[0])
        mark = node.children[1] if len(node.children) > 1 else None
        assert mark is None or isinstance(mark, lark.Token)
        return core, base, count, Compartment.I if mark is not None else Compartment.V, mark

    def _range(self, node: lark.Tree[lark.Token] | lark.Token) -> tuple[int, int, int]:
        assert isinstance(node, lark.Tree)
        core = node.children[0]
        assert isinstance(core, lark.Token)
        base, end = self._span(node.children[1])
        return _int(core), base, end - base

    def _span(self, node: lark.Tree[lark.Token] | lark.Token) -> tuple[int, int]:
        assert isinstance(node, lark.Tree)
        start, end = (child for child in node.children if isinstance(child, lark.Token))
        first, last = _int(start), _int(end)
        if last < first:
            raise self.error(f"reversed range [{start}:{end}]", start)
        return first, last

    def _same_length(
        self, node: lark.Tree[lark.Token] | lark.Token, span: tuple[int, int], count: int, what: str
    ) -> None:
        if span[1] - span[0] != count:
            assert isinstance(node, lark.Tree)
            first = node.children[0]
            assert isinstance(first, lark.Token)
            raise self.error(
                f"{what} [{span[0]}:{span[1]}] has {span[1] - span[0]} entries, the neuron range has {count}", first
            )

    def _block(
        self, node: lark.Tree[lark.Token] | lark.Token, rows: int, cols: int, what: tuple[str, str]
    ) -> tuple[int, int]:
        """A synapse block ``[r0:r1, c0:c1]`` that must be ``rows`` by ``cols``; returns (r0, c0)."""
        assert isinstance(node, lark.Tree)
        r0, r1, c0, c1 = (_int(t) for t in node.children if isinstance(t, lark.Token))
        first = node.children[0]
        assert isinstance(first, lark.Token)
        if r1 < r0 or c1 < c0:
            raise self.error(f"reversed block [{r0}:{r1}, {c0}:{c1}]", first)
        if r1 - r0 != rows:
            raise self.error(f"block rows [{r0}:{r1}] have {r1 - r0} rows, {what[0]} {rows}", first)
        if c1 - c0 != cols:
            raise self.error(f"block columns [{c0}:{c1}] have {c1 - c0} columns, {what[1]} {cols}", first)
        return r0, c0

    @staticmethod
    def _delay(node: lark.Tree[lark.Token] | lark.Token) -> int:
        assert isinstance(node, lark.Tree) and node.data == "delay"
        token = node.children[0]
        assert isinstance(token, lark.Token)
        return _int(token)

    def _acc_syn(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        _, rng, table, block, bus, *rest = tree.children
        core, base, count, compartment, _ = self._crange(rng)
        assert isinstance(table, lark.Token)
        src, src_end = self._span(bus)
        what = ("the neuron range has", "the source bus range has")
        row, col = self._block(block, count, src_end - src, what)
        delay = self._delay(rest[0]) if rest else 0
        acc = Acc(core, base, count, src, src_end - src, _int(table), row, col, compartment, delay)
        self._add(acc, keyword)

    def _acc_bias(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        _, rng, table, rows = tree.children
        core, base, count, compartment, _ = self._crange(rng)
        assert isinstance(table, lark.Token)
        span = self._span(rows)
        self._same_length(rows, span, count, "parameter rows")
        self._add(AccBias(core, base, count, table=_int(table), row=span[0], compartment=compartment), keyword)

    def _acc_current(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count, _, mark = self._crange(tree.children[1])
        if mark is not None:
            raise self.error("the current form adds I to V: it takes no '.i'", mark)
        self._add(AccCurrent(core, base, count), keyword)

    def _pair(self, node: lark.Tree[lark.Token] | lark.Token) -> tuple[int, int]:
        assert isinstance(node, lark.Tree)
        first, second = (_int(t) for t in node.children if isinstance(t, lark.Token))
        return first, second

    def _acc_conv(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        _, rng, table, block, bus, in_map, out_map, out_span, kernel, stride, pad, dilation, groups, *rest = (
            tree.children
        )
        core, base, count, compartment, _ = self._crange(rng)
        assert isinstance(table, lark.Token) and isinstance(groups, lark.Token)
        assert isinstance(in_map, lark.Token) and isinstance(out_map, lark.Token) and isinstance(kernel, lark.Token)
        cin, h, w = (int(part) for part in in_map.lower().split("x"))
        cout, out_h, out_w = (int(part) for part in out_map.lower().split("x"))
        kh, kw = (int(part) for part in kernel.lower().split("x"))
        geometry = ConvGeometry(
            cin, h, w, cout, out_h, out_w, kh, kw, *self._pair(stride), *self._pair(pad), *self._pair(dilation),
            _int(groups),
        )  # fmt: skip
        src, src_end = self._span(bus)
        if src_end - src != geometry.src_len:
            first = bus.children[0] if isinstance(bus, lark.Tree) else bus
            assert isinstance(first, lark.Token)
            raise self.error(
                f"source bus [{src}:{src_end}] has {src_end - src} addresses, the input map {cin}x{h}x{w} has "
                f"{geometry.src_len}",
                first,
            )
        p0, p_end = self._span(out_span)
        self._same_length(out_span, (p0, p_end), count, "output positions")
        acc = AccConv(
            core, base, count, src, _int(table), geometry, p0, 0, 0, compartment, self._delay(rest[0]) if rest else 0
        )
        if geometry.problem() is None and p_end <= geometry.out_size:  # else validation names the broken rule
            what = ("the output channels it touches are", "the fan-in (in/groups x kernel) is")
            row, col = self._block(block, acc.kernel_rows, acc.kernel_cols, what)
            acc = dataclasses.replace(acc, row=row, col=col)
        self._add(acc, keyword)

    def _fire_common(self, tree: lark.Tree[lark.Token]) -> tuple[int, int, int, int, int, int]:
        rng, dst, table, rows = tree.children[1:5]
        core, base, count = self._range(rng)
        bus = self._span(dst)
        self._same_length(dst, bus, count, "destination bus")
        span = self._span(rows)
        self._same_length(rows, span, count, "parameter rows")
        assert isinstance(table, lark.Token)
        return core, base, count, bus[0], _int(table), span[0]

    def _fire_graded(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count, dst, table, row = self._fire_common(tree)
        shift, lo, hi = tree.children[5:8]
        assert isinstance(shift, lark.Token) and isinstance(lo, lark.Token) and isinstance(hi, lark.Token)
        for token in (lo, hi):
            if not -128 <= _int(token) <= 127:
                raise self.error(f"clamp bound {str(token)!r} is outside the int8 range -128..127", token)
        fire = Fire(core, base, count, dst=dst, table=table, row=row, shift=_int(shift), lo=_int(lo), hi=_int(hi))
        self._add(fire, keyword)

    def _fire_binary(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count, dst, table, row = self._fire_common(tree)
        reset_to = tree.children[5]
        assert isinstance(reset_to, lark.Tree)
        reset_table = reset_row = 0
        first = reset_to.children[0]
        assert isinstance(first, lark.Token)
        if first.type == "RESET":
            mode = ResetMode.SUBTRACT if first.lower() == "subtract" else ResetMode.ZERO
        else:
            mode, reset_table = ResetMode.VALUE, _int(first)
            span = self._span(reset_to.children[1])
            self._same_length(reset_to.children[1], span, count, "reset values")
            reset_row = span[0]
        refractory, init_half = 0, False
        for option in tree.children[6:]:
            assert isinstance(option, lark.Tree)
            if option.data == "refractory":
                token = option.children[0]
                assert isinstance(token, lark.Token)
                refractory = _int(token)
            else:
                init_half = True
        fire = Fire(
            core, base, count, dst=dst, table=table, row=row, mode=FireMode.BINARY, reset=mode,
            shift=0, lo=0, hi=0, init_half=init_half, reset_table=reset_table, reset_row=reset_row,
            refractory=refractory,
        )  # fmt: skip
        self._add(fire, keyword)

    def _leak(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count, compartment, _ = self._crange(tree.children[1])
        shift = tree.children[2]
        assert isinstance(shift, lark.Token)
        self._add(Leak(core, base, count, shift=_int(shift), compartment=compartment), keyword)

    def _leak_decay(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        _, rng, table, rows = tree.children
        core, base, count, compartment, _ = self._crange(rng)
        assert isinstance(table, lark.Token)
        span = self._span(rows)
        self._same_length(rows, span, count, "decay rows")
        self._add(LeakDecay(core, base, count, _int(table), span[0], compartment), keyword)

    def _halt(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        self._add(Halt(), keyword)

    # -- data sections --------------------------------------------------------------------------

    def _table_id(self, token: lark.Tree[lark.Token] | lark.Token, kind: str, seen: dict[int, _Where]) -> int:
        assert isinstance(token, lark.Token)
        tid = _int(token)
        if tid >= 2**32:
            raise self.error(f"{kind} table id {tid} does not fit 32 bits", token)
        if tid in seen:
            raise self.error(f"duplicate {kind} table id {tid} (first at line {seen[tid].line})", token)
        return tid

    def _synapses(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        tid = self._table_id(tree.children[1], "synapse", self.synapse_where)
        shape = tree.children[2]
        assert isinstance(shape, lark.Token)
        rows, cols = (int(part) for part in shape.lower().split("x"))
        data = b""
        if len(tree.children) > 3:
            blob = tree.children[3]
            assert isinstance(blob, lark.Token)
            body, _ = _blob_tokens(blob)
            data = bytes.fromhex(body)
        if len(data) != rows * cols:
            raise self.error(
                f"synapse table S{tid} is {rows}x{cols} = {rows * cols} bytes, but {len(data)} bytes of hex follow",
                shape,
            )
        self.synapse_tables[tid] = np.frombuffer(data, dtype=np.int8).reshape(rows, cols).copy()
        self.synapse_where[tid] = _pos(keyword)

    def _params(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        tid = self._table_id(tree.children[1], "param", self.param_where)
        length_token = tree.children[2]
        assert isinstance(length_token, lark.Token)
        length = _int(length_token)
        values: list[int] = []
        if len(tree.children) > 3:
            blob = tree.children[3]
            assert isinstance(blob, lark.Token)
            body, words = _blob_tokens(blob)
            values = [_int(word) for word in body.split()]
            if values and not INT32_MIN <= min(values) <= max(values) <= INT32_MAX:
                for match in words:
                    if not INT32_MIN <= _int(match.group(0)) <= INT32_MAX:
                        line, column = _position_in(blob, match.start())
                        raise _located(
                            f"parameter {match.group(0)!r} is outside the int32 range", line, column, self.filename
                        )
        if len(values) != length:
            raise self.error(f"param table P{tid} has length {length}, but {len(values)} values follow", length_token)
        self.param_tables[tid] = np.array(values, dtype=np.int32)
        self.param_where[tid] = _pos(keyword)

    # -- the program ----------------------------------------------------------------------------

    def program(self) -> Program:
        start = _Where(1, 1)
        if self.target_fields is None:
            raise self.error("missing '.target' directive", start)
        if self.n_inputs is None:
            raise self.error("missing '.inputs' directive", self.target_where or start)
        name, fields = self.target_fields
        program = Program(
            self.instructions,
            self.n_inputs,
            self.outputs,
            self.synapse_tables,
            self.param_tables,
            target=target_from_fields(name, fields),
            input_scale=self.input_scale,
            streamed_input=self.streamed_input,
            probes=self.probes,
        )
        try:
            program.validate()
        except ProgramError as err:
            raise self.error(
                f"{err.location}: {err.message}" if err.location else err.message, self._where(err, program)
            ) from None
        return program

    def _where(self, err: ProgramError, program: Program) -> _Where:
        """The source line a validation error refers to."""
        kind, _, number = (err.location or "").rpartition(" ")
        index = int(number) if number.isdigit() else -1
        end = self.instr_where[-1] if self.instr_where else (self.inputs_where or _Where(1, 1))
        if kind == "instr":
            return self.instr_where[index] if 0 <= index < len(self.instr_where) else end
        if kind == "output" and 0 <= index < len(self.output_where):
            return self.output_where[index]
        if kind == "probe":
            return self.probe_where[min(index, len(self.probe_where) - 1)] if self.probe_where else end
        if kind == "synapse table" and index in self.synapse_where:
            return self.synapse_where[index]
        if kind == "param table" and index in self.param_where:
            return self.param_where[index]
        if kind == "core":
            for instr, where, used in zip(program.instructions, self.instr_where, _running_bytes(program, index)):
                if instr.opcode == Opcode.ACC and used > program.target.synapse_bytes:
                    return where
        return self.inputs_where or _Where(1, 1)


def _running_bytes(program: Program, core: int) -> Iterator[int]:
    """Synaptic memory core ``core`` has used after each instruction (docs/isa.md §1), in program order."""
    used = 0
    kernels: set[tuple[int, int, int, int, int]] = set()
    for instr in program.instructions:
        if isinstance(instr, Acc) and instr.core == core:
            used += (instr.count + instr.delay) * instr.src_len
        elif isinstance(instr, AccConv) and instr.core == core:
            used += GEOMETRY_RECORD_BYTES + instr.delay * instr.src_len
            block = (instr.table, instr.row, instr.col, instr.kernel_rows, instr.kernel_cols)
            if block not in kernels:
                kernels.add(block)
                used += instr.kernel_rows * instr.kernel_cols
        yield used


def assemble(text: str, filename: str | None = None) -> Program:
    """Parse assembly text into a validated Program; AssemblyError at ``[file:]line:col`` otherwise."""
    try:
        tree = _parser().parse(text + "\n")
    except lark.exceptions.UnexpectedInput as err:
        raise _lark_error(err, text + "\n", filename) from None
    assembler = _Assembler(filename)
    for statement in tree.children:
        assert isinstance(statement, lark.Tree)
        assembler.statement(statement)
    return assembler.program()


def _rng(core: int, base: int, count: int) -> str:
    return f"c{core}[{base}:{base + count}]"


def _crng(core: int, base: int, count: int, compartment: Compartment) -> str:
    return _rng(core, base, count) + (".i" if compartment == Compartment.I else "")


def _delay_text(delay: int) -> str:
    return f", delay={delay}" if delay else ""


def _conv_text(instr: AccConv) -> str:
    g = instr.geometry
    block = f"S{instr.table}[{instr.row}:{instr.row + instr.kernel_rows}, {instr.col}:{instr.col + instr.kernel_cols}]"
    return (
        f"ACC  {_crng(instr.core, instr.base, instr.count, instr.compartment)}, {block}, "
        f"bus[{instr.src}:{instr.src + g.src_len}], conv, in={g.in_channels}x{g.in_height}x{g.in_width}, "
        f"out={g.out_channels}x{g.out_height}x{g.out_width}[{instr.p0}:{instr.p0 + instr.count}], "
        f"kernel={g.kernel_h}x{g.kernel_w}, stride=[{g.stride_h},{g.stride_w}], pad=[{g.pad_h},{g.pad_w}], "
        f"dilation=[{g.dilation_h},{g.dilation_w}], groups={g.groups}" + _delay_text(instr.delay)
    )


def _fire_text(instr: Fire) -> str:
    head = f"FIRE {_rng(instr.core, instr.base, instr.count)} -> bus[{instr.dst}:{instr.dst + instr.count}]"
    params = f"P{instr.table}[{instr.row}:{instr.row + instr.count}]"
    if instr.mode == FireMode.GRADED:
        return f"{head}, graded, {params}, shift={instr.shift}, clamp=[{instr.lo},{instr.hi}]"
    if instr.reset == ResetMode.VALUE:
        reset = f"P{instr.reset_table}[{instr.reset_row}:{instr.reset_row + instr.count}]"
    else:
        reset = "subtract" if instr.reset == ResetMode.SUBTRACT else "zero"
    refractory = f", refractory={instr.refractory}" if instr.refractory else ""
    return f"{head}, binary, {params}, reset={reset}{refractory}" + (", init=half" if instr.init_half else "")


def _instruction_text(instr: Instruction) -> str:
    if isinstance(instr, Acc):
        block = f"S{instr.table}[{instr.row}:{instr.row + instr.count}, {instr.col}:{instr.col + instr.src_len}]"
        return (
            f"ACC  {_crng(instr.core, instr.base, instr.count, instr.compartment)}, {block}, "
            f"bus[{instr.src}:{instr.src + instr.src_len}]" + _delay_text(instr.delay)
        )
    if isinstance(instr, AccBias):
        rows = f"P{instr.table}[{instr.row}:{instr.row + instr.count}]"
        return f"ACC  {_crng(instr.core, instr.base, instr.count, instr.compartment)}, {rows}"
    if isinstance(instr, AccCurrent):
        return f"ACC  {_rng(instr.core, instr.base, instr.count)}, i"
    if isinstance(instr, AccConv):
        return _conv_text(instr)
    if isinstance(instr, Fire):
        return _fire_text(instr)
    if isinstance(instr, Leak):
        return f"LEAK {_crng(instr.core, instr.base, instr.count, instr.compartment)}, shift={instr.shift}"
    if isinstance(instr, LeakDecay):
        rows = f"P{instr.table}[{instr.row}:{instr.row + instr.count}]"
        return f"LEAK {_crng(instr.core, instr.base, instr.count, instr.compartment)}, decay={rows}"
    return "HALT"


_HEX_PER_LINE = 64
_PARAMS_PER_LINE = 16


def disassemble(program: Program, data: bool = True) -> str:
    """The assembly text of a program: directives, then instructions (indented 4 spaces), then the
    data sections in table-id order (omitted with ``data=False``, e.g. for a short listing)."""
    target = program.target
    fields = " ".join(f"{key}={getattr(target, key)}" for key in RESOURCE_FIELDS)
    stream = " stream" if program.streamed_input else ""
    lines = [
        f".target {target.name} {fields}",
        f".inputs {program.n_inputs} scale={float(program.input_scale)!r}{stream}",
    ]
    lines += [f".output {_rng(out.core, out.base, out.count)} scale={float(out.scale)!r}" for out in program.outputs]
    lines += [f".probe {_rng(p.core, p.base, p.count)} {' '.join(p.kinds)}" for p in program.probes]
    lines += ["    " + _instruction_text(instr) for instr in program.instructions]
    if data:
        for tid in sorted(program.synapse_tables):
            table = program.synapse_tables[tid]
            rows, cols = table.shape
            lines.append(f".synapses S{tid} {rows}x{cols}")
            hexed = np.ascontiguousarray(table, dtype=np.int8).tobytes().hex()
            step = 2 * _HEX_PER_LINE
            for row in range(rows):
                row_hex = hexed[2 * row * cols : 2 * (row + 1) * cols]
                lines += ["    " + row_hex[i : i + step] for i in range(0, len(row_hex), step)]
        for tid in sorted(program.param_tables):
            values = [str(v) for v in np.asarray(program.param_tables[tid]).tolist()]
            lines.append(f".params P{tid} {len(values)}")
            lines += [
                "    " + " ".join(values[i : i + _PARAMS_PER_LINE]) for i in range(0, len(values), _PARAMS_PER_LINE)
            ]
    return "\n".join(lines) + "\n"


def save_assembly(program: Program, path: str | os.PathLike[str]) -> None:
    """Write the full listing of ``program`` atomically (see :func:`spikeir.fileio.atomic_write`)."""
    atomic_write(path, disassemble(program).encode("ascii"))


def load_assembly(path: str | os.PathLike[str]) -> Program:
    """Read and assemble a text file; errors are located at ``path:line:col``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise AssemblyError(f"not UTF-8 text ({err.reason} at byte {err.start})", str(path)) from None
    return assemble(text, filename=str(path))

"""SpikeCore assembly text (docs/isa.md section 4): ``assemble`` parses it, ``disassemble`` prints it.

The two are exact inverses on valid programs: scales print with ``repr`` and every table is written
in full, so ``assemble(disassemble(p))`` equals ``p``. Data sections can be large (a 784x512 synapse
table is 400 KB of hex), so the grammar captures a whole section body as one token and the bytes are
decoded with ``bytes.fromhex`` instead of one parser token per byte.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lark
import numpy as np

from spikeir.chip.image import RESOURCE_FIELDS, TARGET_NAME, target_from_fields
from spikeir.chip.isa import (
    INT32_MAX,
    INT32_MIN,
    Acc,
    AccBias,
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    Opcode,
    OutputSpec,
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
_statement: target | inputs | output | acc_syn | acc_bias | fire_graded | fire_binary | leak | halt

target: TARGET NAME option*
option: KEY "=" VALUE
inputs: INPUTS UINT ("scale"i "=" FLOAT)?
output: OUTPUT range ("scale"i "=" FLOAT)?

acc_syn: ACC range "," "S"i UINT block "," "bus"i span
acc_bias: ACC range "," "P"i UINT span
fire_graded: FIRE range "->" "bus"i span "," "graded"i "," "P"i UINT span "," "shift"i "=" UINT "," "clamp"i "=" "[" INT "," INT "]"
fire_binary: FIRE range "->" "bus"i span "," "binary"i "," "P"i UINT span "," "reset"i "=" RESET ("," "init"i "=" HALF)?
leak: LEAK range "," "shift"i "=" UINT
halt: HALT

range: "c"i UINT span
span: "[" UINT ":" UINT "]"
block: "[" UINT ":" UINT "," UINT ":" UINT "]"

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
        self.outputs: list[OutputSpec] = []
        self.output_where: list[_Where] = []
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
        if kind == "instr" and has_data:
            raise self.error(f"instruction {str(keyword)!r} after a data section: instructions come first", keyword)

    # -- statements -----------------------------------------------------------------------------

    def statement(self, tree: lark.Tree[lark.Token]) -> None:
        kind = str(tree.data)
        tokens = [child for child in tree.children if isinstance(child, lark.Token)]
        keyword = tokens[0] if tokens else None
        assert keyword is not None
        self._phase(kind if kind in ("target", "inputs", "output", "synapses", "params") else "instr", keyword)
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

    def _inputs(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        count = tree.children[1]
        assert isinstance(count, lark.Token)
        self.n_inputs = _int(count)
        if len(tree.children) > 2:
            scale = tree.children[2]
            assert isinstance(scale, lark.Token)
            self.input_scale = float(scale)
        self.inputs_where = _pos(keyword)

    def _output(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count = self._range(tree.children[1])
        scale = 0.0
        if len(tree.children) > 2:
            token = tree.children[2]
            assert isinstance(token, lark.Token)
            scale = float(token)
        self.outputs.append(OutputSpec(core, base, count, scale))
        self.output_where.append(_pos(keyword))

    def _add(self, instr: Instruction, keyword: lark.Token) -> None:
        self.instructions.append(instr)
        self.instr_where.append(_pos(keyword))

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

    def _acc_syn(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        _, rng, table, block, bus = tree.children
        core, base, count = self._range(rng)
        assert isinstance(table, lark.Token) and isinstance(block, lark.Tree)
        r0, r1, c0, c1 = (_int(t) for t in block.children if isinstance(t, lark.Token))
        src, src_end = self._span(bus)
        first = block.children[0]
        assert isinstance(first, lark.Token)
        if r1 < r0 or c1 < c0:
            raise self.error(f"reversed block [{r0}:{r1}, {c0}:{c1}]", first)
        if r1 - r0 != count:
            raise self.error(f"block rows [{r0}:{r1}] have {r1 - r0} rows, the neuron range has {count}", first)
        if c1 - c0 != src_end - src:
            raise self.error(
                f"block columns [{c0}:{c1}] have {c1 - c0} columns, the source bus range has {src_end - src}", first
            )
        self._add(Acc(core, base, count, src=src, src_len=src_end - src, table=_int(table), row=r0, col=c0), keyword)

    def _acc_bias(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        _, rng, table, rows = tree.children
        core, base, count = self._range(rng)
        assert isinstance(table, lark.Token)
        span = self._span(rows)
        self._same_length(rows, span, count, "parameter rows")
        self._add(AccBias(core, base, count, table=_int(table), row=span[0]), keyword)

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
        reset = tree.children[5]
        assert isinstance(reset, lark.Token)
        mode = ResetMode.SUBTRACT if reset.lower() == "subtract" else ResetMode.ZERO
        fire = Fire(
            core, base, count, dst=dst, table=table, row=row, mode=FireMode.BINARY, reset=mode,
            shift=0, lo=0, hi=0, init_half=len(tree.children) > 6,
        )  # fmt: skip
        self._add(fire, keyword)

    def _leak(self, tree: lark.Tree[lark.Token], keyword: lark.Token) -> None:
        core, base, count = self._range(tree.children[1])
        shift = tree.children[2]
        assert isinstance(shift, lark.Token)
        self._add(Leak(core, base, count, shift=_int(shift)), keyword)

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
        if kind == "synapse table" and index in self.synapse_where:
            return self.synapse_where[index]
        if kind == "param table" and index in self.param_where:
            return self.param_where[index]
        if kind == "core":
            used = 0
            for instr, where in zip(program.instructions, self.instr_where, strict=True):
                if isinstance(instr, Acc) and instr.core == index:
                    used += instr.count * instr.src_len
                    if used > program.target.synapse_bytes:
                        return where
        return self.inputs_where or _Where(1, 1)


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


def _instruction_text(instr: Instruction) -> str:
    if isinstance(instr, Acc):
        block = f"S{instr.table}[{instr.row}:{instr.row + instr.count}, {instr.col}:{instr.col + instr.src_len}]"
        return (
            f"ACC  {_rng(instr.core, instr.base, instr.count)}, {block}, bus[{instr.src}:{instr.src + instr.src_len}]"
        )
    if isinstance(instr, AccBias):
        return (
            f"ACC  {_rng(instr.core, instr.base, instr.count)}, P{instr.table}[{instr.row}:{instr.row + instr.count}]"
        )
    if isinstance(instr, Fire):
        head = f"FIRE {_rng(instr.core, instr.base, instr.count)} -> bus[{instr.dst}:{instr.dst + instr.count}]"
        params = f"P{instr.table}[{instr.row}:{instr.row + instr.count}]"
        if instr.mode == FireMode.GRADED:
            return f"{head}, graded, {params}, shift={instr.shift}, clamp=[{instr.lo},{instr.hi}]"
        reset = "subtract" if instr.reset == ResetMode.SUBTRACT else "zero"
        return f"{head}, binary, {params}, reset={reset}" + (", init=half" if instr.init_half else "")
    if isinstance(instr, Leak):
        return f"LEAK {_rng(instr.core, instr.base, instr.count)}, shift={instr.shift}"
    return "HALT"


_HEX_PER_LINE = 64
_PARAMS_PER_LINE = 16


def disassemble(program: Program, data: bool = True) -> str:
    """The assembly text of a program: directives, then instructions (indented 4 spaces), then the
    data sections in table-id order (omitted with ``data=False``, e.g. for a short listing)."""
    target = program.target
    fields = " ".join(f"{key}={getattr(target, key)}" for key in RESOURCE_FIELDS)
    lines = [f".target {target.name} {fields}", f".inputs {program.n_inputs} scale={float(program.input_scale)!r}"]
    lines += [f".output {_rng(out.core, out.base, out.count)} scale={float(out.scale)!r}" for out in program.outputs]
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

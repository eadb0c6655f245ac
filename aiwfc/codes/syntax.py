"""AIWF0xx: the text cannot be read as aiwf (or as a JSON/YAML IR document)."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

UNEXPECTED_TOKEN = define(
    "AIWF001", "unexpected-token", S.ERROR, "unexpected {found}; expected {expected}",
    summary="The parser met a token that cannot continue what came before it.",
    why="The file cannot be understood past this point until it is fixed; aiwfc "
        "recovers and keeps reporting independent errors further down.",
    example='resource cpu { cores = }',
    instead='resource cpu { cores = 4 }')

UNEXPECTED_CHARACTER = define(
    "AIWF002", "unexpected-character", S.ERROR, "unexpected character {char}",
    summary="A character that starts no token of the language.",
    why="Usually a stray symbol or a paste from another language.",
    example='resource cpu { cores = 4; }',
    instead='resource cpu { cores = 4 }')

UNTERMINATED_STRING = define(
    "AIWF003", "unterminated-string", S.ERROR, "string is not closed before the end of the line",
    summary='A `"` string without its closing quote on the same line.',
    why='Strings end on their line; use `"""` for text spanning several lines.',
    example='run "python fit.py',
    instead='run "python fit.py"')

VERSION_HEADER = define(
    "AIWF004", "version-header", S.ERROR, "{detail}",
    summary="The `aiwf VERSION` header is missing or names a version this compiler does not speak.",
    why="The header lets a future compiler read old files the way they were meant.",
    example='aiwf 9.9',
    instead='aiwf 0.1')

BAD_INTERPOLATION = define(
    "AIWF005", "bad-interpolation", S.ERROR, "{detail}",
    summary="A `${...}` in a string is unclosed or does not hold an expression.",
    why="Interpolations are compiled for every backend; a broken one would run the wrong command.",
    example='run "python md.py --seed ${seed"',
    instead='run "python md.py --seed ${seed}"')

INVALID_DOCUMENT = define(
    "AIWF006", "invalid-document", S.ERROR, "{path}: {detail}",
    summary="A JSON or YAML IR document does not conform to the IR's JSON Schema (spec/aiwf.schema.json).",
    why="The JSON/YAML form is the same IR as the text form; the schema is its contract.",
    example='{"aiwf": "0.1", "workflows": [{"name": 3}]}',
    instead='{"aiwf": "0.1", "workflows": [{"name": "w"}]}')

UNREADABLE_DOCUMENT = define(
    "AIWF007", "unreadable-document", S.ERROR, "{detail}",
    summary="A JSON or YAML document is not well-formed.",
    why="Nothing can be checked until the document parses.",
    example='{"aiwf": "0.1",',
    instead='{"aiwf": "0.1"}')

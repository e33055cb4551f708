"""The redactor every artifact and console line passes through: known secret values and secret-shaped text
become markers, in bounded memory, whatever the chunking of the stream.

Known values (read from a host's declared secret files, kept in memory only) become `[REDACTED:KEY]`.
Patterns catch what nobody declared: PEM private keys, JWTs, bearer/basic authorization, credentials in
URLs, cloud-style access keys, vendor tokens known by their prefixes (GitHub, Slack, Stripe, GitLab, npm,
OpenAI/Anthropic, Google), webhook URLs (Slack, Discord, Telegram), 0x-prefixed 64-hex private keys, and
the value of every `KEY=value`, `"key": "value"` or YAML `key: value` pair whose key looks secret
(`looks_secret`; in a query string also `key=`, `sig=`, `...Signature=`).

Streaming: text is emitted only up to a point that no match can still grow across. Every pattern has a
bounded length (values longer than MAX_VALUE are cut into the marker anyway), so holding back the last
HOLD characters of the pending text is enough; a match that straddles the cut holds the cut back to its
start. A private-key block is held from its BEGIN line until its END line (or MAX_PEM characters, after
which the block is dropped up to its END). An END line whose BEGIN fell outside the captured window takes
the base64 lines right before it along into the marker, so trailing lines that may be a key's body are held
(MAX_PEM at most) until the next line shows whether an END follows.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (~2 ms) into every start-up
if TYPE_CHECKING:
    from typing import Any

MIN_SECRET = 4  # shorter "secrets" (e.g. "1", "true") would redact ordinary text; they are left to patterns
MAX_VALUE = 4096  # longest value a key=value / header / URL pattern takes in one match
MAX_PEM = 16384
CHUNK_EMIT = 65536  # pending text beyond this is emitted (minus the hold) even without a newline


class _Lazy:
    """A regex compiled when it is first used, not at import: every CLI run imports the redactor, and most
    runs never meet a line that needs most of these patterns (compiling them all cost every start-up ~4 ms).
    `<V>` in the pattern is the longest value one match takes."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self.flags = pattern.replace("<V>", str(MAX_VALUE)), flags

    def __getattr__(self, name: str) -> Any:  # only for what the instance lacks: the first search, sub, ...
        compiled = re.compile(self.pattern, self.flags)
        for method in ("match", "fullmatch", "search", "sub", "finditer"):
            setattr(self, method, getattr(compiled, method))  # later calls find them here, at no cost
        return getattr(compiled, name)


# The words that make a key name sound secret: the one list for the key=value patterns below and for secret
# files (orchestrator.secretfiles). Not `passed`/`passing` (test logs), `tokenizer`, `author`, `authority` or
# `(un)authorized` (HTTP logs), but `authorization`; not a bare `key` either (cache keys, sort keys and routing
# keys fill logs), only the kinds of key that are secrets.
SECRET_WORDS = (r"pass(?!e[ds]|ing)|secret|token(?!i[sz])|credential|mnemonic|seed|salt|auth(?!or(?!i[sz]ation))"
                r"|(?:api|access|private|signing|encryption|master|license|session|client|account|shared|hmac|jwt"
                r"|ssh|deploy|app)[_.-]?key")
_SECRET_WORD = _Lazy(SECRET_WORDS, re.I)


@functools.lru_cache(maxsize=4096)  # logs repeat their keys; the key/value pass asks for every one of them
def looks_secret(key: str) -> bool:
    """Whether a key name (`DB_PASSWORD`, `apiKey`, `client_secret`) sounds like it names a secret."""
    return _SECRET_WORD.search(key) is not None


# Vendor tokens, known by their documented prefixes wherever they stand in a line; one regex, so one pass
# over a line, whose group names the marker. Lengths follow the vendors' formats, with room to grow (GitHub:
# "plan for tokens up to 255 characters").
_GITLAB_PREFIXES = ("pat", "ptt", "dt", "rt", "ft", "cbt", "oas", "soat", "imt", "agent", "ffct")
_VENDOR_TOKENS = {
    "GITHUB_TOKEN": r"gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244}",
    "SLACK_TOKEN": r"(?:xox[a-z]|xapp)-\d[A-Za-z0-9-]{9,250}",
    "STRIPE_KEY": r"[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}",
    # Random characters mix cases and digits, which names that merely start like a token (slugs) do not.
    "GITLAB_TOKEN": rf"gl(?:{'|'.join(_GITLAB_PREFIXES)})-(?=[a-z_-]{{0,300}}[A-Z0-9])"
                    r"[A-Za-z0-9_-]{20,300}(?:\.[0-9a-z]{9})?",
    "NPM_TOKEN": r"npm_[A-Za-z0-9]{36,255}",
    # OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) keys.
    "API_KEY": r"sk-(?=[a-z0-9_-]{0,250}[A-Z])(?=[A-Za-z_-]{0,250}[0-9])[A-Za-z0-9_-]{32,250}",
    "GOOGLE_API_KEY": r"AIza[A-Za-z0-9_-]{35}",
}
_VENDOR = "(?<![A-Za-z0-9])(?:" + "|".join(f"(?P<{name}>{p})" for name, p in _VENDOR_TOKENS.items()) + ")"
_ACCESS_KEY_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA")

# Every pattern lies within one line (the stream relies on it) and has a bounded length. With each, the
# literals one of which every match of it holds, as _fold() writes them: a line holding none of them is not
# searched with that pattern (most trigger lines need one or two of the eight).
_PATTERNS: list[tuple[str, tuple[str, ...], _Lazy, str | Callable[[re.Match[str]], str]]] = [
    ("AUTHORIZATION", ("authorization",),
     _Lazy(r"(?i)(\b(?:proxy-)?authorization[ \t]*[:=][ \t]*(?:bearer|basic|token)[ \t]+)"
           r"(?!\[REDACTED)[^\s\"',;\\]{1,<V>}"), r"\1[REDACTED:AUTHORIZATION]"),
    ("BEARER", ("bearer",), _Lazy(r"(?i)(\bbearer[ \t]+)(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,<V>}"),
     r"\1[REDACTED:BEARER]"),
    ("URL_CREDENTIALS", ("://",),
     _Lazy(r"(\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}://[^\s:/@\"']{0,256}:)(?!\[REDACTED)[^\s@/\"']{1,<V>}(@)"),
     r"\1[REDACTED:URL_PASSWORD]\2"),
    ("JWT", ("eyj",), _Lazy(r"\beyJ[A-Za-z0-9_-]{5,<V>}\.[A-Za-z0-9_-]{5,<V>}\.[A-Za-z0-9_-]{5,<V>}"),
     "[REDACTED:JWT]"),
    ("ACCESS_KEY", tuple(p.lower() for p in _ACCESS_KEY_PREFIXES),
     _Lazy(rf"\b(?:{'|'.join(_ACCESS_KEY_PREFIXES)})[A-Z0-9]{{16}}\b"), "[REDACTED:ACCESS_KEY]"),
    ("HEX_KEY", ("0x",), _Lazy(r"\b0x[0-9a-fA-F]{64}\b"), "[REDACTED:HEX_PRIVATE_KEY]"),
    ("VENDOR_TOKEN", ("gh", "github_pat_", "xox", "xapp-", "k_live_", "k_test_", "k_prod_", "gl", "npm_", "sk-",
                      "aiza"), _Lazy(_VENDOR), lambda m: f"[REDACTED:{m.lastgroup}]"),
    # Webhook URLs whose path is the credential: Slack, Discord, Telegram bots (what follows the token goes too).
    ("WEBHOOK", ("://",), _Lazy(r"(\bhttps?://(?:hooks\.slack\.com/(?:services|workflows|triggers)/"
                                r"|(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/(?:v\d{1,2}/)?webhooks/"
                                r"|api\.telegram\.org/(?:file/)?bot))[A-Za-z0-9_/:+-]{20,400}"),
     r"\1[REDACTED:WEBHOOK]"),
]
# What a secret key holds (SECRET_WORDS; `key` also ends every `...key` there) or a query-string one (`key`,
# `sig`, `...signature`): a line with none of these has no secret key/value pair.
_PAIR_NEEDLES = ("pass", "secret", "token", "credential", "mnemonic", "seed", "salt", "auth", "key", "sig")

# A line can match a shape pattern only if it holds one of these triggers (as _fold() writes the line; the
# access-key and Google-key prefixes count only as they are written): only such lines go through the
# patterns. All of them, and every known value, are found in one pass over the text: see _Scanner.
_TRIGGERS = ("auth", "bearer", "://", "eyj", "0x", "pass", "secret", "token", "key", "mnemonic", "seed",
             "credential", "salt", "sig=", "signature=", *(f"gh{c}_" for c in "pousr"), "github_pat_",
             *(f"xox{c}-" for c in "abcdefghijklmnopqrstuvwxyz"), "xapp-", "k_live_", "k_test_", "k_prod_",
             *(f"gl{p}-" for p in _GITLAB_PREFIXES), "npm_", "sk-")
_TRIGGERS_EXACT = (*_ACCESS_KEY_PREFIXES, "AIza")

# The non-ASCII characters that re.IGNORECASE takes for ASCII letters and str.lower() does not turn into them
# (İ ı ſ; the Kelvin sign it does), and the capital sigma, whose lower case depends on the character after
# it. Replaced first, str.lower() turns every character into one character in its place, the same inside a
# line as inside the whole text.
_FOLD_FIRST = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u03a3": "\u03c3"}


def _fold(text: str) -> str:
    """text lower-cased as the case-insensitive patterns see it, each character at its own position."""
    if not text.isascii():
        for char, plain in _FOLD_FIRST.items():
            if char in text:
                text = text.replace(char, plain)
    return text.lower()


class _Scanner:
    """Every trigger and every known value in a text, in one pass: an Aho-Corasick automaton (the
    ahocorasick-rs package, C speed) over the folded text, all matches, overlapping ones too. One regex per
    trigger's first character took one pass each, ~15 passes; a regex alternation of the triggers tries every
    position of the text: both were several times slower. Known values are looked for folded too (and
    checked as written where they are replaced), so that they cost no pass of their own however many."""

    def __init__(self, values: tuple[str, ...]):
        spellings: dict[str, tuple[str, ...] | None] = dict.fromkeys(_TRIGGERS)  # None: any case will do
        spellings.update({exact.lower(): (exact,) for exact in _TRIGGERS_EXACT})
        folded_values = {_fold(v) for v in values}
        self.patterns = list(dict.fromkeys([*spellings, *folded_values]))
        # Per pattern: the spellings a trigger must have as written (None: any; (): it is no trigger), and
        # whether a known value folds to it.
        self.spellings = [spellings.get(p, ()) for p in self.patterns]
        self.is_value = [p in folded_values for p in self.patterns]

    @functools.cached_property
    def _bytes(self) -> Any:  # built on first use; ASCII text is searched as bytes (~1.5x faster than str)
        import ahocorasick_rs

        return ahocorasick_rs.BytesAhoCorasick([p.encode() for p in self.patterns])

    @functools.cached_property
    def _str(self) -> Any:
        import ahocorasick_rs

        return ahocorasick_rs.AhoCorasick(self.patterns)

    def hits(self, text: str) -> list[tuple[int, int, int]]:
        """(pattern, start, end) of every match in text, in no particular order."""
        folded = _fold(text)
        if folded.isascii():
            return self._bytes.find_matches_as_indexes(folded.encode("ascii"), overlapping=True)
        return self._str.find_matches_as_indexes(folded, overlapping=True)  # indexes in characters

    def is_trigger(self, pattern: int, text: str, start: int) -> bool:
        spellings = self.spellings[pattern]
        return spellings is None or any(text.startswith(s, start) for s in spellings)

    def has_trigger(self, line: str) -> bool:
        return any(self.is_trigger(pattern, line, start) for pattern, start, _ in self.hits(line))


@functools.lru_cache(maxsize=16)  # the same values, the same automaton (Redactor() is made often)
def _scanner(values: tuple[str, ...]) -> _Scanner:
    return _Scanner(values)


# -- key/value pairs: `KEY=value` (env files, query strings), `"key": "value"` (JSON, Python reprs) and
# `key: value` (YAML, Go's %+v). Every key-shaped word before a `=` or `:` is a candidate and looks_secret()
# judges its key: one pass over the line, where a regex holding the secret words tried each of them at every
# character of every word (4-10x slower on realistic logs). The key's `+`: no backtracking.
_PAIR_KEY = _Lazy(r"(?<![\w.-])(?P<q>[\"']?)(?P<key>[\w.-]{1,<V>}+)(?P=q)[ \t]*(?P<sep>[=:])[ \t]*")
_QUOTED = r"\"(?:[^\"\\\n]|\\.){0,<V>}\"|'[^'\n]{0,<V>}'"
# Where a bare value ends: `=` at a space or separator, JSON at , } or ] (and an object or array is not a
# value), YAML at the line's end. Never at an escaped quote and never past an unescaped one: JSON artifacts
# are redacted as text, and a value inside a JSON string must leave the string (and the JSON) whole.
_PAIR_VALUE = {
    "=": _Lazy(_QUOTED + r"|(?:[^\s\"'&;\\]|\\.){1,<V>}"),
    '":': _Lazy(_QUOTED + r"|[^\s\"',}\]{\[][^\s\"',}\]]{0,<V>}"),
    ":": _Lazy(_QUOTED + r"|(?:[^\n\"\\]|\\.){1,<V>}"),
}
# In a query string `key=`, `sig=` and `X-Amz-Signature=` carry credentials too (API keys, SAS, presigned URLs).
_QUERY_SECRET = _Lazy(r"(?i)key|sig|[\w.-]*signature")
# Values after a secret-sounding key that are words about a secret, not one: already redacted (also after
# an auth scheme: `Authorization: Bearer [REDACTED:...]`), empty, null, booleans, `ok`, a variable reference
# (compose files: `POSTGRES_PASSWORD: ${DB_PASSWORD}`).
_NOT_A_SECRET = _Lazy(r"(?i)(?:\w+[ \t]+)?\[REDACTED[^\]\n]*\]|null|none|~|true|false|yes|no|ok|\**"
                           r"|\$\{?\w+\}?")


def _secret_key(line: str, pair: re.Match[str]) -> bool:
    if looks_secret(pair["key"]):
        return True
    in_query = pair["sep"] == "=" and line[pair.start() - 1:pair.start()] in ("?", "&")
    return in_query and _QUERY_SECRET.fullmatch(pair["key"]) is not None


def _masked(value: str, form: str) -> str | None:
    """The value as it is to be written (`[REDACTED]`, inside its quotes if it had any, and always quoted in
    JSON, where a bare [REDACTED] is no value); None if it holds no secret."""
    quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"
    inner = value[1:-1] if quoted else value.rstrip()
    if _NOT_A_SECRET.fullmatch(inner.strip()):
        return None
    if quoted or form == '":':
        quote = value[0] if quoted else '"'
        return f"{quote}[REDACTED]{quote}"
    return "[REDACTED]" + value[len(inner):]


def _word_start(line: str, at: int) -> int:
    """Where the run of key characters ([\\w.-]) that holds `at` begins."""
    while at > 0 and (line[at - 1].isalnum() or line[at - 1] in "_.-"):  # \w: isalnum() or _
        at -= 1
    return at


def _secret_values(line: str) -> Iterator[tuple[int, int, int, str]]:
    """(key start, value start, value end, the value redacted) for every secret value of a key/value pair."""
    folded, pos = _fold(line), 0
    while True:
        # A secret key holds one of _PAIR_NEEDLES, and a key is a whole run of key characters (pairs never
        # overlap): the candidates before the next needle's run are not secret, and are skipped unsearched.
        needle = min((at for n in _PAIR_NEEDLES if (at := folded.find(n, pos)) >= 0), default=-1)
        if needle < 0:
            return
        pos = max(pos, _word_start(line, needle) - 1)  # -1: a quote may open the key
        if (pair := _PAIR_KEY.search(line, pos)) is None:
            return
        pos = pair.end()
        if not _secret_key(line, pair):  # first: most candidates are not secret, and a YAML value is long
            continue
        form = '":' if pair["q"] and pair["sep"] == ":" else pair["sep"]
        value = _PAIR_VALUE[form].match(line, pos)
        marker = _masked(value[0], form) if value else None
        if value and marker is not None:
            yield pair.start(), value.start(), value.end(), marker
            pos = value.end()


def _shapes(line: str) -> str:
    folded = _fold(line)
    for _, needles, pattern, replacement in _PATTERNS:
        if any(n in folded for n in needles):
            redacted = pattern.sub(replacement, line)
            if redacted is not line:  # re returns the very string when nothing matched
                line, folded = redacted, _fold(redacted)
    if not any(n in folded for n in _PAIR_NEEDLES):
        return line
    parts, pos = [], 0
    for _, start, end, marker in _secret_values(line):
        parts += [line[pos:start], marker]
        pos = end
    return "".join(parts) + line[pos:]


_PEM_BEGIN = _Lazy(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = _Lazy(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_BLOCK = _Lazy(_PEM_BEGIN.pattern + r".*?" + _PEM_END.pattern, re.S)
PEM_MARKER = "[REDACTED:PRIVATE_KEY]"
# The body of a key block whose BEGIN line fell outside the captured window (`docker logs --tail`): lines of
# base64 right before an END line, each after an optional log prefix (compose's `name  | `, a timestamp).
_PEM_BODY_LINE = _Lazy(r"(?:[\w.-]+[ \t]+\|[ \t]?)?(?:\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?[ \t])?"
                            r"(?P<body>[A-Za-z0-9+/]{1,76}={0,2})[ \t\r]*")
FULL_BODY_LINE = 40  # body lines are 64 (PEM) or 70 (OpenSSH) characters; only the last may be shorter


def _body_start(text: str, end: int) -> int:
    """Where the key-body lines that end at `end` (a line start) begin: full lines (40 to 76 characters of
    base64), the last of them possibly shorter, MAX_PEM at most. `end` itself if there is no full line: a
    lone short line is just a word."""
    start, full = end, False
    while start > 0 and end - start < MAX_PEM:
        line_start = text.rfind("\n", 0, start - 1) + 1
        line = _PEM_BODY_LINE.fullmatch(text, line_start, start - 1)
        if line is None or (start != end and len(line["body"]) < FULL_BODY_LINE):
            break
        full = full or len(line["body"]) >= FULL_BODY_LINE
        start = line_start
    return start if full else end


def _cut_off_keys(text: str) -> str:
    """Every END line left without its BEGIN becomes the marker, with the key-body lines right before it."""
    parts, pos = [], 0
    for end in _PEM_END.finditer(text):
        line_start = text.rfind("\n", 0, end.start()) + 1
        start = _body_start(text, line_start)
        start = end.start() if start == line_start else start  # no body: the END line's prefix stays
        parts += [text[pos:max(start, pos)], PEM_MARKER]
        pos = end.end()
    return "".join(parts) + text[pos:]


# Text is scanned this much (and the rest of its line) at a time: the scan lists every match, overlapping ones
# too, and text dense with triggers (a hex dump: `0x` every 5 characters) would list ~40 bytes of matches for
# each byte of text in one go.
SCAN_BLOCK = 65536
HOLD = 3 * MAX_VALUE + 1024  # longer than any single-line pattern can match


class Redactor:
    """Redacts known values and secret-shaped text; `stream()` gives a chunk-safe, bounded-memory filter."""

    def __init__(self, known: Mapping[str, str] | None = None):
        values = {v: k for k, v in (known or {}).items() if isinstance(v, str) and len(v) >= MIN_SECRET}
        # Longest first, so a secret containing another is replaced whole.
        self._known = dict(sorted(values.items(), key=lambda kv: -len(kv[0])))
        self._known_re = _Lazy("|".join(re.escape(v) for v in self._known)) if self._known else None
        self._marker_of = {value: f"[REDACTED:{key}]" for value, key in self._known.items()}
        # A value or marker with a newline in it spans lines: then the values are replaced in the whole text,
        # as one more pass, and the scan looks for triggers only (the one-pass way replaces them line by line).
        self._spanning = any("\n" in value + key for value, key in self._known.items())
        self._scan = _scanner(() if self._spanning else tuple(self._known))
        self.longest = max((len(v) for v in self._known), default=0)
        self.hold = HOLD + self.longest

    @property
    def values(self) -> list[str]:
        return list(self._known)

    @property
    def known(self) -> dict[str, str]:
        """value -> the key it is known by."""
        return dict(self._known)

    def text(self, text: str) -> str:
        """Redact a complete text. A private-key block runs to its END line, or to the end of the text; an
        END line without its BEGIN takes the key-body lines before it."""
        return self._redact(text, "PRIVATE KEY-----" in text)

    def _redact(self, text: str, keys: bool) -> str:
        """`keys`: whether text may hold a private-key line (the stream has looked already)."""
        if keys:
            text = _cut_off_keys(_PEM_BLOCK.sub(PEM_MARKER, text))
            begin = _PEM_BEGIN.search(text)
            if begin:
                text = text[:begin.start()] + PEM_MARKER
        if self._spanning:
            text = self._replace_known(text)
        if len(text) <= SCAN_BLOCK:
            return self._by_line(text)
        blocks, pos = [], 0
        while pos < len(text):  # whole lines at a time: every line is redacted on its own
            end = text.find("\n", pos + SCAN_BLOCK) + 1 or len(text)
            blocks.append(self._by_line(text[pos:end]))
            pos = end
        return "".join(blocks)

    def _by_line(self, text: str) -> str:
        # Only the lines holding a known value or a trigger of the shape patterns are looked at line by line:
        # logs are mostly lines without either, and one pass over the text finds the few that have one.
        parts, pos = [], 0
        for start, end, trigger, value in self._lines(text):
            line = text[start:end]
            if value:  # replaced in this line as in the whole text: neither values nor markers span lines
                line = self._replace_known(line)
                trigger = self._scan.has_trigger(line)  # a marker may bring one, a replaced value take one
            if trigger:
                line = _shapes(line)
            parts += [text[pos:start], line]
            pos = end
        if not parts:
            return text
        parts.append(text[pos:])
        return "".join(parts)

    def _replace_known(self, text: str) -> str:
        # One left-to-right pass, the longest value first at each position: where values overlap, the one the
        # text reaches first is replaced whole. (Replacing each value everywhere in turn, longest first, let a
        # longer value that overlapped an earlier, shorter one cut that one in two and leave most of it shown.)
        if self._known_re is None:
            return text
        return self._known_re.sub(lambda m: self._marker_of[m.group()], text)

    def _lines(self, text: str) -> Iterator[tuple[int, int, bool, bool]]:
        """(start, end, holds a trigger, holds what may be a known value) of each line holding either."""
        scan = self._scan
        hits = scan.hits(text)
        hits.sort(key=lambda hit: hit[1])
        start = end = -1
        trigger = value = False
        for pattern, at, _ in hits:
            if at > end:  # no pattern holds a newline: this match starts a new line
                if trigger or value:
                    yield start, end, trigger, value
                start = text.rfind("\n", 0, at) + 1
                end = text.find("\n", at)
                end = len(text) if end < 0 else end
                trigger = value = False
            trigger = trigger or scan.is_trigger(pattern, text, at)
            value = value or scan.is_value[pattern]
        if trigger or value:
            yield start, end, trigger, value

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where any known value or pattern matches in `text` (used to place a safe cut)."""
        found = [(m.start(), m.end()) for m in self._known_re.finditer(text)] if self._known_re else []
        for _, _, pattern, _ in _PATTERNS:
            found += [(m.start(), m.end()) for m in pattern.finditer(text)]
        return found + [(key, end) for key, _, end, _ in _secret_values(text)]  # a key goes with its value

    def stream(self) -> RedactingStream:
        return RedactingStream(self)

    def lines(self, chunks: Iterable[str]) -> Iterator[str]:
        """Redact an iterable of chunks, yielding safe text as soon as it can be emitted."""
        stream = self.stream()
        for chunk in chunks:
            out = stream.feed(chunk)
            if out:
                yield out
        tail = stream.close()
        if tail:
            yield tail


class RedactingStream:
    """feed() text in any chunking, get redacted text back; close() flushes the rest. Memory stays
    bounded by the redactor's hold plus one chunk."""

    def __init__(self, redactor: Redactor):
        self.r = redactor
        self.pending = ""
        self.in_pem = False  # inside a private-key block too long to hold: dropping until its END line

    def feed(self, chunk: str) -> str:
        self.pending += chunk
        if self.in_pem:
            self._skip_pem()
            if self.in_pem:
                return ""
        return self._emit(final=False)

    def close(self) -> str:
        if self.in_pem:  # the stream ended inside a key block: nothing of it may come out
            self.pending, self.in_pem = "", False
            return ""
        return self._emit(final=True)

    def _emit(self, final: bool) -> str:
        text = self.pending
        if final:
            self.pending = ""
            return self.r.text(text)
        # Every pattern but the key block lies within one line: whole lines are safe to emit. A line
        # longer than CHUNK_EMIT is emitted up to `hold` before its end: a match starting before that
        # point is complete already, and one straddling it moves the cut to its start.
        cut = text.rfind("\n") + 1
        if len(text) - cut > CHUNK_EMIT + self.r.hold:
            cut = len(text) - self.r.hold
            for start, end in self.r.spans(text):
                if start < cut < end:
                    cut = start
        cut = _body_start(text, cut)  # lines that may be a key's body are held until it is known whether END follows
        keys = "PRIVATE KEY-----" in text  # what both BEGIN and END lines hold: most text has neither
        if keys:
            closed_end = 0
            for block in _PEM_BLOCK.finditer(text):  # a whole key block goes out in one piece
                closed_end = block.end()
                if block.start() < cut < block.end():
                    cut = block.start()
            begin = _PEM_BEGIN.search(text, closed_end)
            if begin is not None:  # an open key block: hold it until its END, or drop it if it never comes
                if len(text) - begin.start() > MAX_PEM:
                    self.pending, self.in_pem = text[begin.end():], True
                    self._skip_pem()
                    return self.r.text(text[:begin.start()]) + PEM_MARKER
                cut = min(cut, begin.start())
        emitted, self.pending = text[:cut], text[cut:]
        return self.r._redact(emitted, keys and "PRIVATE KEY-----" in emitted)

    def _skip_pem(self) -> None:
        """Drop pending text up to and including the key block's END line (kept: a possibly split marker)."""
        end = _PEM_END.search(self.pending)
        if end is None:
            self.pending = self.pending[-80:]  # an END marker may be split across chunks
            return
        self.pending, self.in_pem = self.pending[end.end():], False


# -- the process's known secrets: every output path (reports, console, logs) redacts with these ----------
_KNOWN: dict[str, str] = {}
_CURRENT: list[Redactor | None] = [Redactor()]  # None: secrets registered since; the next current() rebuilds it
_LOCK = threading.Lock()


def register(secrets: Mapping[str, str]) -> None:
    """Remember secret values (in memory only) so that every later output redacts them. The redactor is rebuilt
    by the next current(), not here: a flow registering eight values in a row pays for one rebuild, not eight."""
    with _LOCK:
        fresh = {k: v for k, v in secrets.items() if len(v) >= MIN_SECRET and _KNOWN.get(k) != v}
        if fresh:
            _KNOWN.update(fresh)
            _CURRENT[0] = None


def current() -> Redactor:
    found = _CURRENT[0]
    if found is not None:
        return found
    with _LOCK:  # built from every value registered so far: a register() waits, then marks it stale again
        found = _CURRENT[0]
        if found is None:
            found = _CURRENT[0] = Redactor(_KNOWN)
        return found


def scrub(value: object) -> object:
    """Redact a string, or every string inside lists and dicts (keys included)."""
    if isinstance(value, str):
        return current().text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def known_values() -> list[str]:
    return current().values

"""The redactor: no known secret survives any chunking, ordinary text is left exactly as it was, and
secret-shaped text nobody declared is caught by its shape."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.redact import CHUNK_EMIT, Redactor

# Filler cannot form a secret shape (no '=', ':', quotes, digits, uppercase, 'b' of "bearer"); secrets are
# drawn from another alphabet, so they never occur in the filler by chance.
FILLER = st.text(alphabet="acdefghijklmnopqrstuvwxyz .,-\n", max_size=60)
SECRET = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=40)
KEYS = st.from_regex(r"[A-Z][A-Z_]{2,12}", fullmatch=True)


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, str], str, str]:
    """(known secrets, text with them embedded, the text as it must come out)."""
    known = draw(st.dictionaries(KEYS, SECRET, min_size=1, max_size=4))
    keys = list(known)
    text, expected = draw(FILLER), None
    expected = text
    for _ in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from(keys))
        filler = draw(FILLER)
        text += known[key] + filler
        expected += f"[REDACTED:{_owner(known, known[key])}]" + filler
    return known, text, expected


def _owner(known: dict[str, str], value: str) -> str:
    """Two keys may share a value: the marker names one of them, always the same one."""
    return Redactor(known).known[value]


def streamed(redactor: Redactor, text: str, size: int) -> str:
    stream = redactor.stream()
    return "".join(stream.feed(text[i:i + size]) for i in range(0, len(text), size)) + stream.close()


@given(documents(), st.integers(1, 50))
def test_no_known_secret_survives_any_chunk_size(doc, size):
    known, text, expected = doc
    redactor = Redactor(known)
    out = streamed(redactor, text, size)
    assert out == expected
    assert not any(value in out for value in known.values())


@settings(max_examples=40)
@given(documents())
def test_no_known_secret_survives_a_split_at_any_boundary(doc):
    known, text, expected = doc
    redactor = Redactor(known)
    for cut in range(len(text) + 1):
        stream = redactor.stream()
        assert stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.close() == expected, cut


def test_overlapping_known_values_are_replaced_as_the_text_reads_them():
    """Found by the property test above: '…9' + '999999999' holds the longer value one character early too;
    it must not cut the first value in two (7 of its 8 characters were shown)."""
    known = {"XNF": "00000009", "DFI": "999999999"}
    text, expected = "00000009999999999", "[REDACTED:XNF][REDACTED:DFI]"
    assert Redactor(known).text(text) == expected
    for cut in range(len(text) + 1):
        stream = Redactor(known).stream()
        assert stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.close() == expected, cut


@given(FILLER, st.integers(1, 50))
def test_text_without_secrets_is_unchanged(text, size):
    assert streamed(Redactor({"TOKEN": "ZZZZ9999"}), text, size) == text


SHAPES = [
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----",
     "b3BlbnNzaC1rZXktdjEAAAAA", "[REDACTED:PRIVATE_KEY]"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpM", "SflKxwRJSMeKKF2QT4fwpM",
     "[REDACTED:JWT]"),
    ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl", "[REDACTED:AUTHORIZATION]"),
    ("Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "[REDACTED:AUTHORIZATION]"),
    ("redis://default:hunter2hunter2@127.0.0.1:6379/0", "hunter2hunter2", "[REDACTED:URL_PASSWORD]"),
    ("key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "[REDACTED:ACCESS_KEY]"),
    ("wallet 0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
     "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "[REDACTED:HEX_PRIVATE_KEY]"),
    ("RPC_PASSWORD=correct-horse-battery", "correct-horse-battery", "RPC_PASSWORD=[REDACTED]"),
    ("export WALLET_MNEMONIC=abandon-ability-able", "abandon-ability-able", "WALLET_MNEMONIC=[REDACTED]"),
    ('{"user": "bob", "api_key": "k-123456789"}', "k-123456789", '"api_key": "[REDACTED]"'),
]


@pytest.mark.parametrize(("text", "secret", "marker"), SHAPES)
@pytest.mark.parametrize("size", [1, 3, 7, 4096])
def test_secret_shapes_are_caught_in_any_chunking(text, secret, marker, size):
    out = streamed(Redactor(), f"before\n{text}\nafter\n", size)
    assert secret not in out and marker in out
    assert out.startswith("before\n") and out.endswith("\nafter\n")


def test_ordinary_words_about_secrets_are_left_alone():
    text = "rotate the token weekly; password policy: 12 chars; see docs/secrets.md\n"
    assert Redactor().text(text) == text


def test_a_key_block_that_never_ends_is_dropped_not_leaked():
    body = "QUJDREVGR0g=\n" * 3000  # 39 kB: longer than any block is held
    out = streamed(Redactor(), "head\n-----BEGIN RSA PRIVATE KEY-----\n" + body + "tail", 1000)
    assert "QUJDREVGR0g=" not in out and out.startswith("head\n[REDACTED:PRIVATE_KEY]")


def test_memory_stays_bounded_on_a_huge_line():
    redactor = Redactor({"K": "SECRETSECRET"})
    stream = redactor.stream()
    emitted = 0
    for _ in range(200):  # 200 x 10 kB, no newline, a secret in every chunk
        emitted += len(stream.feed("x" * 9988 + "SECRETSECRET"))
        assert len(stream.pending) <= CHUNK_EMIT + redactor.hold + 10_000
    assert emitted > 0 and "SECRETSECRET" not in stream.close()


# -- one list of secret-sounding key names ------------------------------------------------------------------
@pytest.mark.parametrize(("key", "secret"), [
    ("DB_PASSWORD", True), ("api_key", True), ("apiKey", True), ("client_secret", True), ("GITHUB_TOKEN", True),
    ("WALLET_SEED", True), ("HASH_SALT", True), ("authToken", True), ("SIGNING_KEY", True), ("mnemonic", True),
    ("Proxy-Authorization", True), ("passphrase", True),
    ("author", False), ("tokenizer", False), ("cache_key", False), ("PORT", False), ("DATA_DIR", False),
    ("NOTIFY_URL", False), ("Unauthorized", False), ("authorized_by", False), ("passed", False), ("passing", False),
])
def test_one_list_decides_which_keys_sound_secret(key, secret):
    from orchestrator import redact
    from orchestrator.ops import secretfiles

    assert redact.looks_secret(key) is secret
    # A plainly-not-secret value in a secret file is hidden exactly when its key sounds secret.
    assert secretfiles.worth_hiding(key, "8080") is secret


# -- vendor-prefixed tokens, anywhere in a line ---------------------------------------------------------------
# Fake tokens, assembled at run time so that secret scanners (and push protection) never see one whole here.
B36 = "A1b2C3d4E5f6" * 3
VENDOR_TOKENS = [
    *(("gh" + p + "_" + B36, "GITHUB_TOKEN") for p in "pousr"),
    ("github" + "_pat_" + "11ABCDEFG0" + "a1B2c3D4e5F6" + "_" + ("Zy9" * 19 + "xw"), "GITHUB_TOKEN"),
    ("xox" + "b-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "SLACK_TOKEN"),
    ("xox" + "p-" + "123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef", "SLACK_TOKEN"),
    ("xox" + "a-" + "2-123456789012-AbCdEfGhIjKl", "SLACK_TOKEN"),
    ("xox" + "r-" + "123456789012-AbCdEfGhIjKl", "SLACK_TOKEN"),
    ("xox" + "s-" + "123456789012-123456789012-123456789012-0123456789abcdef", "SLACK_TOKEN"),
    ("xa" + "pp-" + "1-A0123456789-1234567890123-" + "0123456789abcdef" * 4, "SLACK_TOKEN"),
    ("sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"),
    ("rk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"),
    ("sk" + "_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"),
    ("gl" + "pat-" + "xYz0123456789AbCdEfG", "GITLAB_TOKEN"),
    ("np" + "m_" + B36, "NPM_TOKEN"),
    ("sk" + "-proj-" + "Ab1_cD2-eF3" * 8, "API_KEY"),
    ("sk" + "-" + "a1B2c3D4e5F6" * 4, "API_KEY"),
    ("AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6q", "GOOGLE_API_KEY"),
]
PLACES = ["retrying with {} after 401", "{} rejected", "config dump: ({}, 3)", 'header "{}" sent']


@pytest.mark.parametrize(("token", "name"), VENDOR_TOKENS, ids=[t[:6] for t, _ in VENDOR_TOKENS])
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_vendor_tokens_are_caught_anywhere_in_a_line(token, name, place, size):
    line = place.format(token)
    out = streamed(Redactor(), f"before\n{line}\nafter\n", size)
    assert out == f"before\n{place.format(f'[REDACTED:{name}]')}\nafter\n"


def test_vendor_prefixes_alone_are_left_alone():
    text = "ghp_ is GitHub's prefix; sk-learn 1.5; xoxb- tokens; npm_config_cache; AIza prefix; task-42\n"
    assert Redactor().text(text) == text
    # Names that merely start like a token: random tokens mix cases and digits, slugs do not.
    slugs = "deploy sk-payments-worker-deployment-7d9f8b-x2 and glpat-rotation-reminder-weekly-job\n"
    assert Redactor().text(slugs) == slugs


# -- YAML-style `key: value` ---------------------------------------------------------------------------------
YAML_PAIRS = [
    ("api_key: s3cr3t-v4lue", "api_key: [REDACTED]"),
    ("password: x", "password: [REDACTED]"),
    ('  secret_token: "quoted s3cret"', '  secret_token: "[REDACTED]"'),
    ("  db_password: 'single quoted'", "  db_password: '[REDACTED]'"),
    ("- token: l1st-item-t0ken", "- token: [REDACTED]"),
    ("passphrase: correct horse battery staple", "passphrase: [REDACTED]"),
    ("{'user': 'bob', 'password': 'hunter2hunter2'}", "{'user': 'bob', 'password': '[REDACTED]'}"),
    ('{"user":"bob","client_secret":"c5-abcdef"}', '{"user":"bob","client_secret":"[REDACTED]"}'),
    ('export DB_PASSWORD="two words"', 'export DB_PASSWORD="[REDACTED]"'),  # quoted env values too
]


@pytest.mark.parametrize(("text", "expected"), YAML_PAIRS)
@pytest.mark.parametrize("size", [1, 5, 4096])
def test_yaml_style_secret_values_are_replaced_but_not_their_keys(text, expected, size):
    assert streamed(Redactor(), f"before\n{text}\nafter\n", size) == f"before\n{expected}\nafter\n"


@pytest.mark.parametrize("text", [
    "token: [REDACTED]", "password: [REDACTED:DB_PASSWORD]", "auth: ok", "author: Jane Doe",
    "tokenizer: bert-base-uncased", "POSTGRES_PASSWORD: ${DB_PASSWORD}", "password policy: 12 chars",
    "at 10:00:01 the cache_key: user:42 expired", "HTTP/1.1 401 Unauthorized: invalid token", "tests passed: 12",
])
def test_yaml_style_lines_that_hold_no_secret_are_left_alone(text):
    assert Redactor().text(text + "\n") == text + "\n"


# -- tokens in query strings and webhook URLs ----------------------------------------------------------------
QUERY_TOKENS = [
    ("GET https://api.example.com/v1/feed?access_token=ya29-abc123XYZ&page=2 200", "ya29-abc123XYZ",
     "GET https://api.example.com/v1/feed?access_token=[REDACTED]&page=2 200"),
    ('"GET /v1/feed?page=2&token=t0k3n-v4lue HTTP/1.1" 200', "t0k3n-v4lue",
     '"GET /v1/feed?page=2&token=[REDACTED] HTTP/1.1" 200'),
    ("GET https://maps.example.com/api/geocode?key=k3y-v4lu3-123&q=berlin", "k3y-v4lu3-123",
     "GET https://maps.example.com/api/geocode?key=[REDACTED]&q=berlin"),
    ("https://acct.blob.example.net/c/f.tar?sv=2024-01-01&sig=abc%2Bdef123%3D&se=x", "abc%2Bdef123%3D",
     "https://acct.blob.example.net/c/f.tar?sv=2024-01-01&sig=[REDACTED]&se=x"),
    ("fetch https://b.s3.example.com/k?X-Amz-Signature=5f0e8a2b9c&X-Amz-Date=1", "5f0e8a2b9c",
     "fetch https://b.s3.example.com/k?X-Amz-Signature=[REDACTED]&X-Amz-Date=1"),
]
WEBHOOKS = [
    ("POST https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + "abcdEFGHijklMNOP" + "qrstUVWX" + " -> 200",
     "abcdEFGHijklMNOPqrstUVWX", "POST https://hooks.slack.com/services/[REDACTED:WEBHOOK] -> 200"),
    ("notify https://discord.com/api/webhooks/123456789012345678/" + "Xy_9-aBcDeFgHiJk" * 4,
     "aBcDeFgHiJk", "notify https://discord.com/api/webhooks/[REDACTED:WEBHOOK]"),
    ("GET https://api.telegram.org/bot123456789:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage 200",
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "GET https://api.telegram.org/bot[REDACTED:WEBHOOK] 200"),
]


def assert_streamed_as(text: str, secret: str, expected: str, size: int) -> None:
    """Streamed in `size` pieces between two plain lines, the line loses its secret and reads `expected`."""
    out = streamed(Redactor(), f"before\n{text}\nafter\n", size)
    assert secret not in out
    assert out == f"before\n{expected}\nafter\n"


@pytest.mark.parametrize(("text", "secret", "expected"), QUERY_TOKENS)
@pytest.mark.parametrize("size", [1, 9, 4096])
def test_tokens_in_query_strings_are_redacted(text, secret, expected, size):
    assert_streamed_as(text, secret, expected, size)


def test_urls_without_a_token_are_left_alone():
    text = "GET https://shop.example.com/search?q=keyboard&sort=price&page=2 and http://backend:8080/healthz\n"
    assert Redactor().text(text) == text


@pytest.mark.parametrize(("text", "secret", "expected"), WEBHOOKS)
@pytest.mark.parametrize("size", [1, 9, 4096])
def test_webhook_urls_lose_their_token(text, secret, expected, size):
    assert_streamed_as(text, secret, expected, size)


# -- the body of a private key whose BEGIN line was cut off -------------------------------------------------
KEY_BODY = [base64.b64encode(bytes(range(i, i + 48))).decode() for i in range(0, 240, 48)] + ["AAAEbm9uZQ=="]
CUT_KEY = "\n".join(KEY_BODY) + "\n-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize("prefix", ["", "backend-1  | ", "2026-11-21T10:00:01.123456789Z "])
@pytest.mark.parametrize("size", [1, 13, 64, 4096])
def test_a_key_body_whose_begin_line_was_cut_off_is_redacted(prefix, size):
    lines = ["starting", *KEY_BODY, "-----END RSA PRIVATE KEY-----", "ready"]
    text = "".join(f"{prefix}{line}\n" for line in lines)
    out = streamed(Redactor(), text, size)
    assert out == f"{prefix}starting\n[REDACTED:PRIVATE_KEY]\n{prefix}ready\n"


@settings(max_examples=30)
@given(st.integers(0, len(CUT_KEY) + 20))
def test_a_cut_off_key_body_is_redacted_wherever_a_chunk_ends(cut):
    text = "tail of the log\n" + CUT_KEY + "next line\n"
    stream = Redactor().stream()
    out = stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.close()
    assert out == "tail of the log\n[REDACTED:PRIVATE_KEY]\nnext line\n"


def test_base64_lines_not_followed_by_a_private_key_end_are_left_alone():
    cert = "\n".join(KEY_BODY[:4]) + "\n-----END CERTIFICATE-----\n"
    digests = "\n".join(KEY_BODY[:4]) + "\nall layers pulled\n"
    for text in (cert, digests):
        assert streamed(Redactor(), text, 7) == text


def test_redacted_json_stays_json():
    """report.json and other JSON artifacts are redacted as text: a redaction must never break their syntax."""
    data = {"secrets": {"/srv/app/.env": ["API_TOKEN", "DB_PASSWORD"]}, "secret_files": [".env"],
            "api_token": "t0k3n-v4lue", "token_count": 3, "password": None,
            "reason": 'login said "password: hunter2hunter2" and token=abc\\"def, api_key: k"ey',
            "log": "Authorization: Bearer abc.def.ghi\nsecret_token: s3cr3t-value\n"}
    for text in (json.dumps(data), json.dumps(data, indent=2)):
        out = Redactor().text(text)
        parsed = json.loads(out)
        assert parsed["secrets"] == data["secrets"] and parsed["secret_files"] == [".env"]
        assert parsed["token_count"] == "[REDACTED]"  # a bare value under a secret-sounding key: still JSON
        assert not any(s in out for s in ("t0k3n-v4lue", "hunter2hunter2", "abc", "s3cr3t-value"))


PIECES = [*(line + "\n" for line in KEY_BODY), "-----END PRIVATE KEY-----\n", "-----BEGIN RSA PRIVATE KEY-----\n",
          "ready\n", "api_key: s3cr3t v4lue\n", 'x {"password": "p4ss", "n": 1}\n', f"by {VENDOR_TOKENS[0][0]}\n",
          WEBHOOKS[0][0] + "\n", "GET /a?key=k3y&b=1\n", "backend-1  | ", "no newline ", "DB_PASSWORD=hunter2 "]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(PIECES), max_size=14), st.integers(1, 90))
def test_streaming_redacts_exactly_like_the_whole_text(pieces, size):
    text = "".join(pieces)
    assert streamed(Redactor(), text, size) == Redactor().text(text)


# -- one pass finds triggers and known values: case folding, values in lines, values across lines ----------
@pytest.mark.parametrize(("text", "expected"), [
    # re.IGNORECASE takes İ ı ſ for i i s: so does the scan for triggers (here in otherwise non-ASCII text).
    ("café pasſword: hunter2hunter2", "café pasſword: [REDACTED]"),
    ("AUTHORİZATION: Bearer abcdefghij", "AUTHORİZATION: Bearer [REDACTED:AUTHORIZATION]"),
    ("naïve sıgnature=abc123 ?ſig=x&", "naïve sıgnature=abc123 ?ſig=[REDACTED]&"),
])
def test_non_ascii_letters_count_as_the_case_insensitive_patterns_see_them(text, expected):
    assert streamed(Redactor(), f"before\n{text}\nafter\n", 5) == f"before\n{expected}\nafter\n"


@pytest.mark.parametrize(("known", "text", "expected"), [
    # A capital sigma lower-cases by what follows it: a value ending in one is found inside a longer word too.
    ({"K": "ΚΟΣΜΟΣ"}, "x ΚΟΣΜΟΣΑ y", "x [REDACTED:K]Α y"),
    ({"WORD": "tokenizer"}, "tokenizer=bert", "[REDACTED:WORD]=bert"),  # a value that held the only trigger
    ({"K": "hunter2"}, "db_hunter2=abc", "db_[REDACTED:K]=abc"),
    ({"DB_PASSWORD": "hunter2"}, "x=hunter2 user=bob", "x=[REDACTED:DB_PASSWORD] user=bob"),
])
@pytest.mark.parametrize("size", [1, 4, 4096])
def test_known_values_are_replaced_wherever_they_stand(known, text, expected, size):
    redactor = Redactor(known)
    assert redactor.text(f"{text}\n") == f"{expected}\n"
    assert streamed(redactor, f"{text}\n", size) == f"{expected}\n"


def test_a_known_value_across_lines_is_replaced_in_a_whole_text():
    assert Redactor({"K": "one\ntwo"}).text("a one\ntwo b\nc\n") == "a [REDACTED:K] b\nc\n"


KNOWN = {"API_TOKEN": "t0k3n-v4lue", "DB_PASSWORD": "hunter2", "NAME": "Tokenizer"}


@settings(max_examples=200)
@given(st.lists(st.sampled_from([*PIECES, *(f"{v} " for v in KNOWN.values()), "key=t0k3n-v4lue\n", "TOKENIZER "]),
                max_size=14), st.integers(1, 90))
def test_streaming_with_known_values_redacts_exactly_like_the_whole_text(pieces, size):
    text = "".join(pieces)
    out = streamed(Redactor(KNOWN), text, size)
    assert out == Redactor(KNOWN).text(text)
    assert not any(v in out for v in KNOWN.values())


def _replaced(known: dict[str, str], text: str) -> str:
    for value, key in sorted(((v, k) for k, v in known.items()), key=lambda vk: -len(vk[0])):
        text = text.replace(value, f"[REDACTED:{key}]")
    return text


@settings(max_examples=300)
@given(st.lists(st.sampled_from([*PIECES, *(f"{v} " for v in KNOWN.values()), "TOKENIZER ", "tokenizer ",
                                 "?sig =x&"]), max_size=10))  # no trigger of its own: the line decides
def test_known_values_are_replaced_first_and_the_result_redacted_as_text(pieces):
    text = "".join(pieces)
    assert Redactor(KNOWN).text(text) == Redactor().text(_replaced(KNOWN, text))

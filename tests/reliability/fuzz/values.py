"""What the fuzz tests send: Hypothesis's settings, and values that mix what the forms expect with
what they do not."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.card_payments import CARDS

FUZZ = hypothesis_settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_API = hypothesis_settings(FUZZ, max_examples=75)
CARD_DECLINED, CARD_3DS = CARDS["declined"], CARDS["3ds"]

# Any text a browser can send (UTF-8: no lone surrogates), NUL included.
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)
with_nul = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=10), st.text(max_size=10))
numberish = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.sampled_from(["NaN", "inf", "-Infinity", "1e999", "-0", "0x10", "١٢٣", "１２３", "2.5", " 7 ", "1_000"]),
    st.just("9" * 400),
)
phones = st.one_of(
    st.sampled_from(
        ["+8613800138000", "13800138000", "+86 138 0013 8000", "+85251000001", "+1 202 555 0100", "00861380013800"]
    ),
    st.from_regex(r"\+?[0-9 ()\-]{0,25}", fullmatch=True),
)
# Stands for the code the form's step has just sent by SMS, put in when the request is made.
SENT_CODE = "<the code just sent>"
codes = st.one_of(
    st.just(SENT_CODE),
    st.from_regex(r"[0-9 ]{0,8}", fullmatch=True),
    st.sampled_from(["123456", "000000", "１２３４５６"]),
)
passwords = st.one_of(st.sampled_from(["correct-Horse-42!", "password", "12345678", ""]), text)
emails = st.one_of(st.emails(), st.sampled_from(["buyer@example.com", "a@b", "@", "x" * 300 + "@example.com"]))


def anything(*expected: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(*expected, text, numberish, with_nul, st.just(""))


def form(**fields: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of ``fields``, each one value or several (as a form with a repeated field sends)."""
    several = {name: st.one_of(values, st.lists(values, min_size=2, max_size=3)) for name, values in fields.items()}
    return st.fixed_dictionaries({}, optional=several)


# JSON can say what a form cannot: lone surrogates ("\ud800"), NaN, numbers of any size.
json_text = st.one_of(text, st.text(alphabet=st.characters(exclude_categories=()), max_size=20))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**64) | st.floats() | json_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(json_text, children, max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(json_text, json_values, max_size=8)
headers_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=120)

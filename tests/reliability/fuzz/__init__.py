"""Hypothesis throws arbitrary input at every form, at the usage API and at Stripe's webhook
(test_forms.py, test_apis.py):
no input makes a 500 (the test client raises a view's exception, so one shows here as the
exception itself, shrunk to the smallest input that causes it).

Values mix what the forms expect (numbers in every writing, plan codes, real line numbers,
card ids) with what they do not (any text, NUL characters, huge and negative numbers, several
values for one field, fields left out). The API and webhook bodies are signed correctly unless
the target is about signatures, so the code behind the signature check is what gets fuzzed.

The examples are derandomised: the same inputs every run, so that ``make test`` is repeatable.
"""

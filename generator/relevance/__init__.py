"""Relevance: for one account, which stored items speak to it, how much, and why. Pure.

One entry point, :func:`rank`: (the account's needs, the run's corpus of items and their
vectors, feeds, now, settings) -> every candidate that passed the gate, scored, with its
reasons and each signal's share, best first, before the sent-history filter and the digest's
size and caps (:func:`select` makes the digest's items from it). It is a function of values, so
it can run per account in worker processes.

The parts, one module each: :mod:`.needs` (the account's needs), :mod:`.lexical` (the account's
words in the items), :mod:`.meaning` (closeness in meaning, from the sentence vectors),
:mod:`.judge` (the story and the account read together, where closeness is unsure),
:mod:`.gate` (the gate, the order, the caps), :mod:`.notes` (the team's notes),
:mod:`.reasons` (the wording). A new signal is a new module and one more term in :mod:`.gate`.
"""

from __future__ import annotations

from .gate import Candidate, Check, Decision, Share, anything_clear, decide, select
from .index import Corpus
from .needs import Profile, make_profile
from .notes import pick_notes
from .score import ALL, Assessment, Mix, assess, candidate, rank, score_items

__all__ = [
    "ALL",
    "Assessment",
    "Candidate",
    "Check",
    "Corpus",
    "Decision",
    "Mix",
    "Profile",
    "Share",
    "anything_clear",
    "assess",
    "candidate",
    "decide",
    "make_profile",
    "pick_notes",
    "rank",
    "score_items",
    "select",
]
